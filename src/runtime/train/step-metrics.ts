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
