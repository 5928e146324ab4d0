import { apply1 } from '../core/apply';
import { defineOp } from '../core/op-spec';
import { Tensor } from '../core/tensor';

/** Identity in ONNX; to `grad`, a wall: nothing flows back through it. */
export const StopGradient = defineOp<Record<string, never>>({
  opType: 'StopGradient',
  onnxOpType: 'Identity',
  attrKinds: {},
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  fold: ([x]) => [x!],
});

/** x, with no gradient flowing back to what produced it. */
export const stopGradient = (x: Tensor): Tensor => apply1(StopGradient, [x], {});
