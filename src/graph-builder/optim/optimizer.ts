import type { Param } from '../core/graph';
import type { Tensor } from '../core/tensor';

/** One parameter's update: its new value and new optimizer state, by state slot. */
export interface ParamUpdate {
  readonly param: Tensor;
  readonly state: Readonly<Record<string, Tensor>>;
}

/** Scalars shared by every parameter's update, as graph inputs. */
export interface StepScalars {
  /** float32 []: the learning rate of this step. */
  readonly lr: Tensor;
  /** float32 []: 1-based step number of this update (PyTorch increments before updating). */
  readonly step: Tensor;
}

/**
 * An optimizer as graph code: which state slots each parameter has (all start at zero) and the
 * update of one parameter given its gradient, state tensors and the step scalars.
 */
export interface Optimizer {
  readonly name: string;
  readonly stateSlots: readonly string[];
  /** Per-step scalars derived once from lr and step (e.g. bias corrections). */
  prepare(scalars: StepScalars): Readonly<Record<string, Tensor>>;
  /**
   * `gradScale` (a float32 scalar, when given) multiplies the gradient first (gradient clipping,
   * the loss scale's division); an optimizer folds it into its own scalars rather than spend a
   * pass over every gradient on it.
   */
  update(
    param: Param,
    value: Tensor,
    gradient: Tensor,
    state: Readonly<Record<string, Tensor>>,
    shared: Readonly<Record<string, Tensor>>,
    gradScale?: Tensor,
  ): ParamUpdate;
}
