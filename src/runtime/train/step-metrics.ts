import type { StepResult } from './step-engine';

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

/** Metrics of an evaluation run during training (e.g. validation top-1), recorded with its step. */
export type Evaluation = Readonly<Record<string, number>>;

/** One finished update, as a training loop hands it to its report. */
export interface StepRecord {
  readonly step: number;
  readonly epoch: number;
  readonly lr: number;
  readonly seconds: number;
  readonly result: StepResult;
  readonly evaluation?: Evaluation;
}

/** The metrics.jsonl record of an update (the CLI's and the page's). */
export function stepMetrics(r: StepRecord, imagesPerStep: number, mfu?: number): StepMetrics {
  const { loss, terms, gradNorm, lossScale, allreduceSeconds } = r.result;
  return {
    step: r.step,
    epoch: r.epoch,
    loss,
    ...terms,
    grad_norm: gradNorm,
    ...(lossScale !== undefined ? { loss_scale: lossScale } : {}),
    ...(allreduceSeconds !== undefined ? { allreduce_seconds: allreduceSeconds } : {}),
    lr: r.lr,
    step_seconds: r.seconds,
    images_per_second: imagesPerStep / r.seconds,
    ...(mfu !== undefined ? { mfu } : {}),
    time: new Date().toISOString(),
    ...r.evaluation,
  };
}

/** Records as metrics.jsonl lines. */
export function metricsLines(records: readonly StepMetrics[]): string {
  return records.map((m) => `${JSON.stringify(m)}\n`).join('');
}

/** metrics.jsonl's records; a line cut by a kill mid-write is left out. */
export function parseMetricsLines(text: string): StepMetrics[] {
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as StepMetrics];
      } catch {
        return [];
      }
    });
}
