import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)); ORT fuses this pattern into one kernel. */
export function gelu(x: Tensor): Tensor {
  return op.mul(op.mul(x, 0.5), op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1));
}
