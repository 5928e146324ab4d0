import type { TensorData } from '../../graph-builder/core/tensor-data';

/** What one optimizer update reports. */
export interface StepResult {
  readonly loss: number;
  /** The task's other scalar outputs (e.g. loss_rec, loss_align), averaged over micro-batches. */
  readonly terms: Readonly<Record<string, number>>;
  /** The unclipped global gradient norm. */
  readonly gradNorm: number;
  /** fp16 builds: the dynamic loss scale of the step. */
  readonly lossScale?: number;
  /** Data-parallel runs: seconds spent in the gradient all-reduce. */
  readonly allreduceSeconds?: number;
}

/** Parameters and optimizer state on the host, as a checkpoint stores them. */
export interface TrainingState {
  readonly params: Map<string, TensorData>;
  readonly optimizer: Map<string, TensorData>;
}

/**
 * How an update is computed: the fused train_step (state on the host, or on the GPU), gradient
 * accumulation (grad_step per micro-batch + host AdamW), and later data-parallel. An engine starts
 * from a TrainingState (a checkpoint's, or the build's initial weights) and carries it forward.
 */
export interface StepEngine {
  /** Micro-batches per update: `step` calls `nextFeeds` this many times. */
  readonly microBatches: number;
  /**
   * One update at learning rate `lr`; `step` is its 1-based number. `nextFeeds(micro)` gives the
   * inputs of the next micro-batch, `micro` its number within the whole update (over all ranks).
   */
  step(
    nextFeeds: (micro: number) => Promise<Record<string, TensorData>>,
    lr: number,
    step: number,
  ): Promise<StepResult>;
  snapshot(): Promise<TrainingState>;
  release(): Promise<void>;
}

export const scalar = (t: TensorData): number => Number(t.data[0]);

/** What a train_step run reports: its loss, the task's terms, the gradient norm and (fp16) the loss scale. */
export function stepResult(out: Readonly<Record<string, TensorData>>, terms: readonly string[]): StepResult {
  return {
    loss: scalar(out.loss),
    terms: Object.fromEntries(terms.map((t) => [t, scalar(out[t])])),
    gradNorm: scalar(out.grad_norm),
    ...(out.loss_scale ? { lossScale: scalar(out.loss_scale) } : {}),
  };
}
