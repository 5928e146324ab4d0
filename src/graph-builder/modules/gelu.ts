import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/**
 * Exact GELU, x Phi(x), as the single ONNX Gelu op (opset 20) with its own gradient rule. Built from
 * Mul/Erf/Add instead, ORT runs five elementwise passes (it did not fuse them in our train steps).
 */
export function gelu(x: Tensor): Tensor {
  return op.gelu(x);
}
