import * as path from 'node:path';
import type { Manifest } from '../../artifacts/manifest';
import type { TrainingTask } from './training-task';
import { METRICS_FILE, MetricsLog } from './metrics-log';
import { writeRunReconstruction } from '../report/run-reconstruction';
import { writeRunReport } from '../report/write-run-report';
import { formatProgress } from './progress';
import { StepRecord, stepMetrics } from './step-metrics';

export type { StepRecord } from './step-metrics';

/**
 * What a run tells: metrics.jsonl (one record per update, evaluations merged in), a status line every
 * `logEvery` updates (loss and its terms, lr, step time, images/s, FLOP/s and MFU against the
 * measured MatMul peak, the latest evaluation, ETA), evaluation lines, and, at the end, loss.png,
 * report.html and the reconstruction figure (runtime/report).
 */
export class RunReport {
  /** Only where this process writes (rank 0). */
  private readonly metrics?: MetricsLog;
  private windowStart = performance.now();
  private windowSteps = 0;
  private note?: string;

  constructor(
    private readonly runDir: string,
    private readonly manifest: Manifest,
    private readonly task: TrainingTask,
    private readonly o: {
      readonly totalSteps: number;
      readonly imagesPerStep: number;
      readonly logEvery: number;
      /** Measured MatMul peak (GFLOP/s), for MFU. */
      readonly peak?: number;
      /** Resuming after this step: later records of metrics.jsonl are dropped. */
      readonly resumedAt?: number;
      readonly say: (line: string) => void;
      readonly status: (line: string) => void;
      /** Whether this process writes metrics.jsonl and the curves (rank 0 of a data-parallel run). */
      readonly writes: boolean;
    },
  ) {
    if (o.writes) this.metrics = new MetricsLog(path.join(runDir, METRICS_FILE), o.resumedAt);
  }

  record(r: StepRecord): void {
    if (!this.metrics) return;
    if (r.evaluation) {
      this.o.say(this.task.describe?.(r.step, r.evaluation) ?? JSON.stringify(r.evaluation));
      this.note = this.task.summarize?.(r.evaluation);
    }
    const mfu = this.o.peak ? this.flopsPerStep() / r.seconds / 1e9 / this.o.peak : undefined;
    this.metrics.add(stepMetrics(r, this.o.imagesPerStep, mfu));
    this.windowSteps++;
    if (r.step % this.o.logEvery === 0 || r.step === this.o.totalSteps) this.statusLine(r);
  }

  private statusLine(r: StepRecord): void {
    const perStep = (performance.now() - this.windowStart) / 1000 / this.windowSteps;
    const gflops = this.flopsPerStep() / perStep / 1e9;
    this.o.status(
      formatProgress({
        step: r.step,
        total: this.o.totalSteps,
        loss: r.result.loss,
        terms: r.result.terms,
        lr: r.lr,
        secondsPerStep: perStep,
        imagesPerSecond: this.o.imagesPerStep / perStep,
        gflops,
        mfu: this.o.peak ? gflops / this.o.peak : undefined,
        etaSeconds: perStep * (this.o.totalSteps - r.step),
        note: this.note,
      }),
    );
    this.metrics?.flush();
    this.windowStart = performance.now();
    this.windowSteps = 0;
  }

  /** MatMul FLOPs of one update (all its micro-batches and ranks). */
  private flopsPerStep(): number {
    return this.manifest.graphs.train_step.matmulFlops * (this.o.imagesPerStep / this.manifest.config.batch);
  }

  flush(): void {
    this.metrics?.flush();
  }

  /**
   * At the end of an invocation: the reconstruction figure of the newest checkpoint (pixel-target
   * pretraining), then loss.png and report.html from the whole run folder (earlier invocations of a
   * resumed run included). Returns the report's path. A report that cannot be written is a warning:
   * the run's checkpoints and metrics are what matter, and `cae-onnx report` can try again.
   */
  async finish(newestCheckpoint: string | undefined): Promise<string | undefined> {
    if (!this.metrics) return undefined;
    this.metrics.flush();
    try {
      if (newestCheckpoint) await writeRunReconstruction(this.runDir, newestCheckpoint);
      return await writeRunReport(this.runDir);
    } catch (e) {
      this.o.say(`could not write the run report: ${(e as Error).message}`);
      return undefined;
    }
  }
}
