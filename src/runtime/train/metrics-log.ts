import * as fs from 'node:fs';

/** The per-step record every run keeps in its folder. */
export const METRICS_FILE = 'metrics.jsonl';

export interface StepMetrics {
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
  readonly grad_norm: number;
  /** fp16 builds: the dynamic loss scale of the step. */
  readonly loss_scale?: number;
  /** Data-parallel runs: seconds in the gradient all-reduce (rank 0's wait included). */
  readonly allreduce_seconds?: number;
  readonly lr: number;
  readonly step_seconds: number;
  readonly images_per_second: number;
  /** Model FLOPs utilization: the step's MatMul FLOP/s over the peak measured at the run's start. */
  readonly mfu?: number;
  readonly time: string;
  /**
   * The task's own numbers: loss_rec and loss_align every step (pretraining); val_top1 and val_loss
   * where a validation ran (fine-tuning, at each epoch's end).
   */
  readonly [term: string]: number | string | undefined;
}

/**
 * metrics.jsonl: one JSON object per step, appended in intervals. On resume, lines after the resumed
 * step are dropped first, so the file always describes one consistent trajectory.
 */
export class MetricsLog {
  private pending: string[] = [];

  constructor(
    readonly file: string,
    resumeAfterStep?: number,
  ) {
    if (resumeAfterStep !== undefined && fs.existsSync(file)) {
      const kept = readMetrics(file).filter((m) => m.step <= resumeAfterStep);
      fs.writeFileSync(file, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
    } else if (resumeAfterStep === undefined) {
      fs.writeFileSync(file, '');
    }
  }

  add(m: StepMetrics): void {
    this.pending.push(`${JSON.stringify(m)}\n`);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    fs.appendFileSync(this.file, this.pending.join(''));
    this.pending = [];
  }
}

export function readMetrics(file: string): StepMetrics[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as StepMetrics];
      } catch {
        return []; // a line cut by a kill mid-write
      }
    });
}
