import { apply1 } from '../core/apply';
import { ShapeError } from '../core/errors';
import { defineOp } from '../core/op-spec';
import { formatShape, normalizeAxis, sameShape } from '../core/shape';
import { Tensor } from '../core/tensor';
import { constInts, requireDtype, requireRank } from './op-helpers';

const INDEX_TYPES = ['int64', 'int32'] as const;

interface AxisAttrs {
  readonly axis?: number;
  readonly [k: string]: number | undefined;
}

export const Gather = defineOp<AxisAttrs>({
  opType: 'Gather',
  attrKinds: { axis: 'int' },
  infer: ([x, indices], { axis = 0 }) => {
    requireDtype(indices!, INDEX_TYPES, 'Gather indices');
    const a = normalizeAxis(axis, x!.rank);
    return [
      { dtype: x!.dtype, shape: [...x!.shape.slice(0, a), ...indices!.shape, ...x!.shape.slice(a + 1)] },
    ];
  },
});

export const GatherElements = defineOp<AxisAttrs>({
  opType: 'GatherElements',
  attrKinds: { axis: 'int' },
  infer: ([x, indices], { axis = 0 }) => {
    requireDtype(indices!, INDEX_TYPES, 'GatherElements indices');
    normalizeAxis(axis, x!.rank);
    if (indices!.rank !== x!.rank)
      throw new ShapeError('GatherElements indices must have the rank of the data');
    return [{ dtype: x!.dtype, shape: indices!.shape }];
  },
});

export interface ScatterAttrs {
  readonly axis?: number;
  readonly reduction?: 'none' | 'add' | 'mul' | 'max' | 'min';
  readonly [k: string]: number | string | undefined;
}

export const ScatterElements = defineOp<ScatterAttrs>({
  opType: 'ScatterElements',
  attrKinds: { axis: 'int', reduction: 'string' },
  infer: ([data, indices, updates], { axis = 0 }) => {
    requireDtype(indices!, INDEX_TYPES, 'ScatterElements indices');
    normalizeAxis(axis, data!.rank);
    if (updates!.dtype !== data!.dtype) throw new ShapeError('updates must have the element type of data');
    if (!sameShape(indices!.shape, updates!.shape) || indices!.rank !== data!.rank) {
      throw new ShapeError(
        `indices ${formatShape(indices!.shape)} and updates ${formatShape(updates!.shape)} must match, with the rank of data`,
      );
    }
    return [{ dtype: data!.dtype, shape: data!.shape }];
  },
});

export const OneHot = defineOp<AxisAttrs>({
  opType: 'OneHot',
  attrKinds: { axis: 'int' },
  infer: ([indices, depth, values], { axis = -1 }) => {
    requireDtype(indices!, INDEX_TYPES, 'OneHot indices');
    const [d] = constInts(depth, 'OneHot depth');
    requireRank(values!, 1, 'OneHot values');
    const rank = indices!.rank + 1;
    const a = normalizeAxis(axis, rank);
    const shape = [...indices!.shape];
    shape.splice(a, 0, d);
    return [{ dtype: values!.dtype, shape }];
  },
});

/** Takes slices of x along `axis` at `indices`. x: [..., N, ...], indices: I -> [..., *I, ...]. */
export const gather = (x: Tensor, indices: Tensor, axis = 0): Tensor =>
  apply1(Gather, [x, indices], { axis });

/** out[i][j] = x[indices[i][j]][j] (for axis 0); out has the shape of indices. */
export const gatherElements = (x: Tensor, indices: Tensor, axis = 0): Tensor =>
  apply1(GatherElements, [x, indices], { axis });

/** Copy of data with updates written (or accumulated, reduction 'add') at indices along axis. */
export const scatterElements = (
  data: Tensor,
  indices: Tensor,
  updates: Tensor,
  { axis = 0, reduction = 'none' }: { axis?: number; reduction?: ScatterAttrs['reduction'] } = {},
): Tensor => apply1(ScatterElements, [data, indices, updates], { axis, reduction });

/** One-hot encoding with `depth` classes along `axis`, values [off, on] in the given float dtype. */
export const oneHot = (
  indices: Tensor,
  depth: number,
  {
    axis = -1,
    off = 0,
    on = 1,
    dtype = 'float32' as const,
  }: { axis?: number; off?: number; on?: number; dtype?: 'float32' | 'float64' } = {},
): Tensor => {
  const g = indices.graph;
  const values = g.constant({
    dtype,
    shape: [2],
    data: dtype === 'float32' ? Float32Array.of(off, on) : Float64Array.of(off, on),
  });
  return apply1(OneHot, [indices, g.int64s([depth]), values], { axis });
};
