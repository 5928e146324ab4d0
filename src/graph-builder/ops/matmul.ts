import { apply1 } from '../core/apply';
import { ShapeError } from '../core/errors';
import { defineOp } from '../core/op-spec';
import { broadcastShapes, Dim, formatShape } from '../core/shape';
import { Tensor } from '../core/tensor';
import { requireDtype, requireRank, requireSameDtype } from './op-helpers';

export const MatMul = defineOp<Record<string, never>>({
  opType: 'MatMul',
  attrKinds: {},
  infer: ([a, b]) => {
    const dtype = requireSameDtype([a, b]);
    requireDtype(a!, ['float32', 'float64', 'float16', 'int32', 'int64'], 'MatMul input');
    if (a!.rank === 0 || b!.rank === 0) throw new ShapeError('MatMul inputs must have rank >= 1');
    const as = a!.rank === 1 ? [1, ...a!.shape] : [...a!.shape];
    const bs = b!.rank === 1 ? [...b!.shape, 1] : [...b!.shape];
    const k1 = as[as.length - 1];
    const k2 = bs[bs.length - 2];
    if (k1 !== k2) {
      throw new ShapeError(`inner dimensions differ: ${formatShape(a!.shape)} @ ${formatShape(b!.shape)}`);
    }
    const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
    const shape: Dim[] = [...batch];
    if (a!.rank > 1) shape.push(as[as.length - 2]);
    if (b!.rank > 1) shape.push(bs[bs.length - 1]);
    return [{ dtype, shape }];
  },
});

export interface GemmAttrs {
  readonly alpha?: number;
  readonly beta?: number;
  readonly transA?: number;
  readonly transB?: number;
  readonly [k: string]: number | undefined;
}

export const Gemm = defineOp<GemmAttrs>({
  opType: 'Gemm',
  attrKinds: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' },
  infer: ([a, b, c], { transA = 0, transB = 0 }) => {
    const dtype = requireSameDtype([a, b, c]);
    requireRank(a!, 2, 'Gemm A');
    requireRank(b!, 2, 'Gemm B');
    const [m, ka] = transA ? [a!.shape[1], a!.shape[0]] : a!.shape;
    const [kb, n] = transB ? [b!.shape[1], b!.shape[0]] : b!.shape;
    if (ka !== kb) throw new ShapeError(`inner dimensions differ: ${ka} vs ${kb}`);
    const shape = [m, n];
    if (c) {
      const out = broadcastShapes(shape, c.shape);
      if (out.length !== 2 || out[0] !== m || out[1] !== n) {
        throw new ShapeError(`Gemm C ${formatShape(c.shape)} does not broadcast to ${formatShape(shape)}`);
      }
    }
    return [{ dtype, shape }];
  },
});

/** Numpy matmul. a: [..., M, K], b: [..., K, N] -> [..., M, N] (1-D operands as numpy). */
export const matmul = (a: Tensor, b: Tensor): Tensor => apply1(MatMul, [a, b], {});

/** alpha * op(a) @ op(b) + beta * c, 2-D only; op transposes where asked. */
export const gemm = (a: Tensor, b: Tensor, c?: Tensor, attrs: GemmAttrs = {}): Tensor =>
  apply1(Gemm, [a, b, c], attrs);
