import { apply, apply1 } from '../core/apply';
import { dtypeFromOnnxCode } from '../core/dtype';
import { ShapeError } from '../core/errors';
import { defineOp } from '../core/op-spec';
import { formatShape, normalizeAxis, sameShape } from '../core/shape';
import { Tensor } from '../core/tensor';
import { requireDtype, requireSameDtype } from './op-helpers';

const FLOATS = ['float32', 'float64', 'float16'] as const;

interface AxisAttrs {
  readonly axis?: number;
  readonly [k: string]: number | undefined;
}

function softmaxLike(opType: 'Softmax' | 'LogSoftmax') {
  return defineOp<AxisAttrs>({
    opType,
    attrKinds: { axis: 'int' },
    infer: ([x], { axis = -1 }) => {
      requireDtype(x!, FLOATS, `${opType} input`);
      normalizeAxis(axis, x!.rank);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
  });
}
export const Softmax = softmaxLike('Softmax');
export const LogSoftmax = softmaxLike('LogSoftmax');

export interface LayerNormAttrs {
  readonly axis?: number;
  readonly epsilon?: number;
  readonly stash_type?: number;
  readonly [k: string]: number | undefined;
}

/**
 * Outputs: Y, and optionally Mean and InvStdDev (shape of X with the normalized dims set to 1, in the
 * stash type: float32 by default, and the only one ORT's CPU kernel has, float64 inputs included).
 */
export const LayerNormalization = defineOp<LayerNormAttrs>({
  opType: 'LayerNormalization',
  attrKinds: { axis: 'int', epsilon: 'float', stash_type: 'int' },
  infer: ([x, scale, bias], { axis = -1, stash_type }, numOutputs) => {
    const dtype = requireSameDtype([x, scale, bias]);
    requireDtype(x!, FLOATS, 'LayerNormalization input');
    const a = normalizeAxis(axis, x!.rank);
    const normalized = x!.shape.slice(a);
    for (const p of [scale, bias]) {
      if (p && !sameShape(p.shape, normalized)) {
        throw new ShapeError(
          `scale/bias ${formatShape(p.shape)} must match normalized dims ${formatShape(normalized)}`,
        );
      }
    }
    const stats = {
      dtype: stash_type === undefined ? 'float32' : dtypeFromOnnxCode(stash_type),
      shape: [...x!.shape.slice(0, a), ...normalized.map(() => 1)],
    };
    return [{ dtype, shape: x!.shape }, stats, stats].slice(0, numOutputs);
  },
});

/** Softmax over `axis` (default last). */
export const softmax = (x: Tensor, { axis = -1 } = {}): Tensor => apply1(Softmax, [x], { axis });
export const logSoftmax = (x: Tensor, { axis = -1 } = {}): Tensor => apply1(LogSoftmax, [x], { axis });

/** LayerNorm over dims [axis, rank). x: [..., D], scale/bias: [D] (the normalized dims). */
export const layerNorm = (
  x: Tensor,
  scale: Tensor,
  bias?: Tensor,
  { axis = -1, epsilon = 1e-5 } = {},
): Tensor => apply1(LayerNormalization, [x, scale, bias], { axis, epsilon });

/** LayerNorm that also returns the saved statistics [y, mean, invStdDev]. */
export const layerNormWithStats = (
  x: Tensor,
  scale: Tensor,
  bias?: Tensor,
  { axis = -1, epsilon = 1e-5 } = {},
): [Tensor, Tensor, Tensor] => {
  const [y, mean, invStd] = apply(LayerNormalization, [x, scale, bias], { axis, epsilon }, 3);
  return [y, mean, invStd];
};
