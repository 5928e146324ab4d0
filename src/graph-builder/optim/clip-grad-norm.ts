import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/**
 * Global gradient-norm clipping as torch.nn.utils.clip_grad_norm_ (L2): the total norm over all
 * gradients; every gradient scaled by min(1, maxNorm / (norm + 1e-6)). Returns the unclipped norm.
 */
export function clipGradNorm(grads: readonly Tensor[], maxNorm: number): { grads: Tensor[]; norm: Tensor } {
  const norm = gradNorm(grads);
  const coef = clipCoefficient(norm, maxNorm);
  return { grads: grads.map((g) => op.mul(g, coef)), norm };
}

/** The recipe's gradient clipping (max norm 3), the default of `build --clip-grad` and of `train`'s own builds. */
export const DEFAULT_CLIP_GRAD_NORM = 3;

/** clip_grad_norm_'s factor for a total norm: min(1, maxNorm / (norm + 1e-6)). */
export function clipCoefficient(norm: Tensor, maxNorm: number): Tensor {
  return op.min(op.div(maxNorm, op.add(norm, 1e-6)), 1);
}

/** The global L2 norm of the gradients, without clipping. */
export function gradNorm(grads: readonly Tensor[]): Tensor {
  const squares = grads.map((g) => op.reduceSumSquare(g));
  if (squares.length === 1) return op.sqrt(squares[0]);
  // One ReduceSum over the stacked squares: fewer kernels than an Add per gradient.
  return op.sqrt(
    op.reduceSum(
      op.concat(
        squares.map((s) => op.reshape(s, [1])),
        0,
      ),
    ),
  );
}
