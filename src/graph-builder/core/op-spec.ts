import type { AttrKinds, Attrs } from './attributes';
import type { DType } from './dtype';
import type { Shape } from './shape';
import type { Tensor } from './tensor';
import type { TensorData } from './tensor-data';

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * Everything the builder knows about one ONNX op: its name, attribute kinds, shape/type inference
 * (throwing ShapeError on bad inputs) and, where trivial, build-time evaluation on constant inputs.
 */
export interface OpSpec<A extends Attrs = Attrs> {
  readonly opType: string;
  /** The ONNX op written for this builder op when they differ (StopGradient is an Identity). */
  readonly onnxOpType?: string;
  readonly attrKinds: AttrKinds<A>;
  /** Inputs are the traced tensors (constants carry values); returns one type per output. */
  infer(inputs: readonly (Tensor | undefined)[], attrs: A, numOutputs: number): TensorType[];
  /** Optional constant folding (undefined: not folded); every present input is a constant here. */
  fold?(
    inputs: readonly (TensorData | undefined)[],
    attrs: A,
    outTypes: readonly TensorType[],
  ): TensorData[] | undefined;
  /** Fold even when inputs are not constant (e.g. Shape of a static shape). */
  foldAlways?(inputs: readonly (Tensor | undefined)[], attrs: A): TensorData[] | undefined;
}

export function defineOp<A extends Attrs>(spec: OpSpec<A>): OpSpec<A> {
  return spec;
}
