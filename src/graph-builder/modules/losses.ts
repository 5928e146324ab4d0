import { stopGradient } from '../autodiff';
import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/**
 * log softmax over the last axis from primitives: x - m - log(sum(exp(x - m))) with m the row max
 * (its gradient cancels, so it is a stop-gradient). Not the LogSoftmax op: the WebGPU provider has
 * no kernel for it and would run it, and its gradient, on the CPU. x: [N, C] -> [N, C].
 */
export function logSoftmax(x: Tensor): Tensor {
  const shifted = op.sub(x, stopGradient(op.reduceMax(x, [-1], { keepdims: true })));
  return op.sub(shifted, op.log(op.reduceSum(op.exp(shifted), [-1], { keepdims: true })));
}

/** Mean cross-entropy. logits: [N, C], labels: [N] int64 -> []. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const logProbs = logSoftmax(logits);
  const picked = op.gatherElements(logProbs, op.unsqueeze(labels, [1]), 1); // [N, 1]
  return op.neg(op.reduceMean(picked));
}

/** Mean cross-entropy against soft targets (label smoothing, mixup). logits, targets: [N, C] -> []. */
export function softTargetCrossEntropy(logits: Tensor, targets: Tensor): Tensor {
  return op.neg(op.reduceMean(op.reduceSum(op.mul(targets, logSoftmax(logits)), [1])));
}

/** Mean squared error over all elements. a, b: same shape -> []. */
export function mse(a: Tensor, b: Tensor): Tensor {
  const d = op.sub(a, b);
  return op.reduceMean(op.mul(d, d));
}
