import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/** Mean cross-entropy. logits: [N, C], labels: [N] int64 -> []. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const logProbs = op.logSoftmax(logits, { axis: -1 });
  const picked = op.gatherElements(logProbs, op.unsqueeze(labels, [1]), 1); // [N, 1]
  return op.neg(op.reduceMean(picked));
}

/** Mean squared error over all elements. a, b: same shape -> []. */
export function mse(a: Tensor, b: Tensor): Tensor {
  const d = op.sub(a, b);
  return op.reduceMean(op.mul(d, d));
}
