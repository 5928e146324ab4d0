import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/**
 * Runs a matmul-like fn in the graph's matmul precision (see Graph.matmulDtype): float32 inputs are
 * cast down, the result cast back to float32, so the caller sees float32 either way. The gradient
 * flows through the casts, so the backward matmuls run in the same precision.
 */
export function autocast(fn: (...inputs: Tensor[]) => Tensor, ...inputs: Tensor[]): Tensor {
  const dtype = inputs[0].graph.matmulDtype;
  if (dtype === 'float32') return fn(...inputs);
  const low = inputs.map((t) => (t.dtype === 'float32' ? op.cast(t, dtype) : t));
  return op.cast(fn(...low), 'float32');
}
