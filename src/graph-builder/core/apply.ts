import type { Attrs } from './attributes';
import { GraphBuildError } from './errors';
import type { OpSpec } from './op-spec';
import { Tensor, TensorLike } from './tensor';

/**
 * Applies an op to traced inputs. JS numbers become scalar constants of the first tensor's dtype;
 * `undefined` stands for an omitted optional ONNX input.
 */
export function apply<A extends Attrs>(
  spec: OpSpec<A>,
  inputs: readonly (TensorLike | undefined)[],
  attrs: A,
  numOutputs = 1,
): Tensor[] {
  const first = inputs.find((t): t is Tensor => t instanceof Tensor);
  if (!first) throw new GraphBuildError(`${spec.opType} needs at least one tensor input`, spec.opType);
  const tensors = inputs.map((t) => (typeof t === 'number' ? first.graph.scalar(t, first.dtype) : t));
  return first.graph.addNode(spec, tensors, attrs, numOutputs);
}

export function apply1<A extends Attrs>(
  spec: OpSpec<A>,
  inputs: readonly (TensorLike | undefined)[],
  attrs: A,
): Tensor {
  return apply(spec, inputs, attrs, 1)[0];
}
