import type { TensorData } from '../../graph-builder/core/tensor-data';
import type { Rng } from '../../random/rng';
import type { Batch, LoaderOptions } from '../data/loader';
import type { Evaluation } from './step-metrics';

export type { Evaluation } from './step-metrics';

/**
 * What differs between kinds of training (CAE pretraining, fine-tuning a classifier); the loop in
 * trainer.ts, with its checkpoints, resume, signals and metrics, is shared.
 */
export interface TrainingTask {
  /** Scalar outputs of the step graphs besides `loss`, recorded per step under the same names. */
  readonly terms: readonly string[];
  /** Loader options of this task (random erasing for fine-tuning). */
  readonly loader?: Pick<LoaderOptions, 'erase'>;
  /** The data inputs of one micro-batch; `rng` is the step's own generator (seed, step). */
  feeds(batch: Batch, rng: Rng): Promise<Record<string, TensorData>>;
  /** After update `step`: an evaluation when one is due, on the parameters `params()` returns. */
  evaluate?(
    step: number,
    params: () => Promise<ReadonlyMap<string, TensorData>>,
  ): Promise<Evaluation | undefined>;
  /** One line about an evaluation, for the log. */
  describe?(step: number, evaluation: Evaluation): string;
  /** The latest evaluation in a few words, for the status line (e.g. "val top-1 85.1%"). */
  summarize?(evaluation: Evaluation): string;
  release(): Promise<void>;
}
