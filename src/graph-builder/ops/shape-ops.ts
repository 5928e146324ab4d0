import { apply, apply1 } from '../core/apply';
import { DType, dtypeFromOnnxCode, onnxTypeCode } from '../core/dtype';
import { buildError, ShapeError } from '../core/errors';
import { IDENTITY } from '../core/identity';
import { defineOp } from '../core/op-spec';
import { broadcastShapes, Dim, formatShape, isStatic, normalizeAxis, Shape } from '../core/shape';
import { Tensor } from '../core/tensor';
import { fromNumbers, tensorData, TensorData, toNumbers } from '../core/tensor-data';
import { chunks, constInts, foldBroadcast, MAX_KERNEL_TENSORS, requireStaticDim } from './op-helpers';

type NoAttrs = Record<string, never>;
interface IntAttrs {
  readonly [k: string]: number | undefined;
}
interface IntsAttrs {
  readonly [k: string]: readonly number[] | undefined;
}

/** Same data, new shape: folding for ops that only change the shape of a constant. */
const reshaped = (x: TensorData, shape: Shape): TensorData => tensorData(x.dtype, shape as number[], x.data);

export const Identity = IDENTITY;

export const Transpose = defineOp<IntsAttrs>({
  opType: 'Transpose',
  attrKinds: { perm: 'ints' },
  infer: ([x], { perm }) => {
    const p = perm ?? x!.shape.map((_, i) => x!.rank - 1 - i);
    const sorted = [...p].sort((a, b) => a - b);
    if (p.length !== x!.rank || sorted.some((v, i) => v !== i)) {
      throw new ShapeError(`perm [${p.join(', ')}] is not a permutation of rank ${x!.rank}`);
    }
    return [{ dtype: x!.dtype, shape: p.map((i) => x!.shape[i]) }];
  },
});

/** Output shape of Reshape with ONNX 0 (copy) and -1 (infer) entries, over named dims too. */
/**
 * A dim as named factors and a static factor: 'batch*50' is { names: ['batch'], size: 50 }. Products
 * of named dims arise when a dynamic batch is flattened ([batch, 50, 64] -> [batch*50, 64]).
 */
function factors(shape: Shape): { names: string[]; size: number } {
  const names: string[] = [];
  let size = 1;
  for (const d of shape) {
    if (typeof d === 'number') {
      if (d !== -1) size *= d;
      continue;
    }
    for (const part of d.split('*')) {
      if (/^\d+$/.test(part)) size *= Number(part);
      else names.push(part);
    }
  }
  return { names, size };
}

const productDim = (names: string[], size: number): Dim =>
  names.length === 0 ? size : [...names, ...(size === 1 ? [] : [String(size)])].join('*');

/** Output shape of Reshape with ONNX 0 (copy) and -1 (infer) entries, over named dims too. */
function reshapeTarget(input: Shape, target: readonly number[]): Dim[] {
  const out: Dim[] = target.map((d, i) => {
    if (d === 0) {
      if (i >= input.length) throw new ShapeError(`0 at position ${i} has no input dim to copy`);
      return input[i];
    }
    return d;
  });
  const inferred = out.filter((d) => d === -1).length;
  if (inferred > 1) throw new ShapeError('at most one -1 in a Reshape target');
  if (out.some((d) => typeof d === 'number' && d < -1))
    throw new ShapeError(`bad Reshape target [${target}]`);
  const bad = () => new ShapeError(`cannot reshape ${formatShape(input)} to [${target}]`);
  const from = factors(input);
  const to = factors(out);
  const remaining = [...from.names];
  for (const n of to.names) {
    const k = remaining.indexOf(n);
    if (k < 0) throw new ShapeError(`named dim '${n}' does not come from the input`);
    remaining.splice(k, 1);
  }
  if (inferred === 1) {
    if (from.size % to.size !== 0) throw bad();
    const fill = productDim(remaining, from.size / to.size);
    return out.map((d) => (d === -1 ? fill : d));
  }
  if (remaining.length > 0 || from.size !== to.size) throw bad();
  return out;
}

export const Reshape = defineOp<IntAttrs>({
  opType: 'Reshape',
  attrKinds: { allowzero: 'int' },
  infer: ([x, shape]) => [
    { dtype: x!.dtype, shape: reshapeTarget(x!.shape, constInts(shape, 'Reshape shape')) },
  ],
  fold: ([x], _a, [out]) => [reshaped(x!, out.shape)],
});

export const Concat = defineOp<IntAttrs>({
  opType: 'Concat',
  attrKinds: { axis: 'int' },
  infer: (inputs, { axis = 0 }) => {
    const xs = inputs.map((t) => t!);
    const dtype = xs[0].dtype;
    const a = normalizeAxis(axis, xs[0].rank);
    let total = 0;
    for (const x of xs) {
      if (x.dtype !== dtype) throw new ShapeError('Concat inputs must share an element type');
      const sameElsewhere = x.rank === xs[0].rank && x.shape.every((d, i) => i === a || d === xs[0].shape[i]);
      if (!sameElsewhere) {
        throw new ShapeError(`shapes ${xs.map((t) => formatShape(t.shape)).join(', ')} differ off axis ${a}`);
      }
      total += requireStaticDim(x.shape[a], 'the concatenated dimension');
    }
    const shape = [...xs[0].shape];
    shape[a] = total;
    return [{ dtype, shape }];
  },
  fold: (inputs, { axis = 0 }, [out]) => {
    const xs = inputs.map((t) => t!);
    if (xs[0].shape.length !== 1 && normalizeAxis(axis, xs[0].shape.length) !== 0) return undefined;
    return [fromNumbers(out.dtype, out.shape as number[], xs.flatMap(toNumbers))];
  },
});

export const Split = defineOp<IntAttrs>({
  opType: 'Split',
  attrKinds: { axis: 'int', num_outputs: 'int' },
  infer: ([x, split], { axis = 0 }, numOutputs) => {
    const a = normalizeAxis(axis, x!.rank);
    const sizes = constInts(split, 'Split sizes');
    const dim = requireStaticDim(x!.shape[a], 'the split dimension');
    if (sizes.length !== numOutputs || sizes.reduce((p, q) => p + q, 0) !== dim) {
      throw new ShapeError(`split sizes [${sizes}] do not cover dim ${dim} in ${numOutputs} parts`);
    }
    return sizes.map((s) => {
      const shape = [...x!.shape];
      shape[a] = s;
      return { dtype: x!.dtype, shape };
    });
  },
});

/** ONNX Slice bounds after clamping: the number of elements taken. */
function sliceLength(dim: number, start: number, end: number, step: number): number {
  if (step === 0) throw new ShapeError('Slice step must not be 0');
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, 0, dim - 1);
  e = clamp(e, -1, dim - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

export const Slice = defineOp<NoAttrs>({
  opType: 'Slice',
  attrKinds: {},
  infer: ([x, starts, ends, axes, steps]) => {
    const st = constInts(starts, 'Slice starts');
    const en = constInts(ends, 'Slice ends');
    const ax = axes ? constInts(axes, 'Slice axes') : st.map((_, i) => i);
    const sp = steps ? constInts(steps, 'Slice steps') : st.map(() => 1);
    const shape = [...x!.shape];
    ax.forEach((axis, i) => {
      const a = normalizeAxis(axis, x!.rank);
      shape[a] = sliceLength(requireStaticDim(x!.shape[a], 'a sliced dimension'), st[i], en[i], sp[i]);
    });
    return [{ dtype: x!.dtype, shape }];
  },
});

/** The ONNX Expand shape constant for a target that may name dynamic dims (1 keeps the input's dim). */
function expandConstant(x: Tensor, target: Shape): number[] {
  const shift = target.length - x.rank;
  return target.map((d, i) => {
    if (typeof d === 'number') return d;
    if (x.shape[i - shift] === d) return 1;
    throw buildError('Expand', `to named dim '${d}' needs the input to have it at the same position`);
  });
}

export interface PadAttrs {
  readonly mode?: 'constant';
  readonly [k: string]: string | undefined;
}

/** Constant-mode Pad; pads = [begin_0, ..., begin_n, end_0, ..., end_n] (negative crops). */
export const Pad = defineOp<PadAttrs>({
  opType: 'Pad',
  attrKinds: { mode: 'string' },
  infer: ([x, pads, value, axes]) => {
    const p = constInts(pads, 'Pad pads');
    const ax = axes
      ? constInts(axes, 'Pad axes').map((a) => normalizeAxis(a, x!.rank))
      : x!.shape.map((_, i) => i);
    if (p.length !== 2 * ax.length) throw new ShapeError(`Pad needs ${2 * ax.length} pads, got ${p.length}`);
    if (value && (value.rank !== 0 || value.dtype !== x!.dtype))
      throw new ShapeError('Pad value must be a scalar of the data type');
    const shape = [...x!.shape];
    ax.forEach((a, i) => {
      shape[a] = requireStaticDim(x!.shape[a], 'a padded dimension') + p[i] + p[i + ax.length];
      if (shape[a] < 0) throw new ShapeError(`Pad crops axis ${a} below zero`);
    });
    return [{ dtype: x!.dtype, shape }];
  },
});

/**
 * The target of an Expand: a constant, or the output of a Shape node (a runtime shape, e.g. with a
 * dynamic batch), whose symbolic dims are those of the Shape's input.
 */
function expandTarget(shape: Tensor | undefined): Shape {
  const producer = shape?.producer;
  if (
    shape &&
    !shape.value &&
    producer?.spec.opType === 'Shape' &&
    Object.keys(producer.attrs).every((k) => producer.attrs[k] === undefined)
  ) {
    return producer.inputs[0]!.shape;
  }
  return constInts(shape, 'Expand shape');
}

export const Expand = defineOp<NoAttrs>({
  opType: 'Expand',
  attrKinds: {},
  infer: ([x, shape]) => [{ dtype: x!.dtype, shape: broadcastShapes(x!.shape, expandTarget(shape)) }],
  fold: ([x], _a, [out]) => [foldBroadcast([x!], out.dtype, out.shape, (v) => v)],
});

export const Unsqueeze = defineOp<NoAttrs>({
  opType: 'Unsqueeze',
  attrKinds: {},
  infer: ([x, axes]) => {
    const ax = constInts(axes, 'Unsqueeze axes');
    const rank = x!.rank + ax.length;
    const at = new Set(ax.map((a) => normalizeAxis(a, rank)));
    if (at.size !== ax.length) throw new ShapeError(`repeated Unsqueeze axes [${ax}]`);
    const rest = [...x!.shape];
    const shape = Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : rest.shift()!));
    return [{ dtype: x!.dtype, shape }];
  },
  fold: ([x], _a, [out]) => [reshaped(x!, out.shape)],
});

export const Squeeze = defineOp<NoAttrs>({
  opType: 'Squeeze',
  attrKinds: {},
  infer: ([x, axes]) => {
    const ax = axes
      ? constInts(axes, 'Squeeze axes').map((a) => normalizeAxis(a, x!.rank))
      : x!.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    for (const a of ax) {
      if (x!.shape[a] !== 1) throw new ShapeError(`cannot squeeze axis ${a} of ${formatShape(x!.shape)}`);
    }
    return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !ax.includes(i)) }];
  },
  fold: ([x], _a, [out]) => [reshaped(x!, out.shape)],
});

export const ShapeOp = defineOp<IntAttrs>({
  opType: 'Shape',
  attrKinds: { start: 'int', end: 'int' },
  infer: ([x], { start = 0, end }) => {
    const r = x!.rank;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    return [{ dtype: 'int64', shape: [Math.max(0, clamp(end ?? r) - clamp(start))] }];
  },
  foldAlways: ([x], { start = 0, end }) => {
    const r = x!.rank;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const dims = x!.shape.slice(clamp(start), clamp(end ?? r));
    return isStatic(dims) ? [fromNumbers('int64', [dims.length], dims)] : undefined;
  },
});

export const Cast = defineOp<IntAttrs>({
  opType: 'Cast',
  attrKinds: { to: 'int', saturate: 'int' },
  infer: ([x], { to }) => [{ dtype: dtypeFromOnnxCode(to!), shape: x!.shape }],
  fold: ([x], _a, [out]) =>
    out.dtype === 'float16' || x!.dtype === 'float16'
      ? undefined
      : [foldBroadcast([x!], out.dtype, out.shape, out.dtype === 'float32' ? Math.fround : (v) => v)],
});

export const identity = (x: Tensor): Tensor => apply1(Identity, [x], {});

/** Permutes dims. x: [d0..dn] -> [d_perm[0]..]; default reverses. */
export const transpose = (x: Tensor, perm?: readonly number[]): Tensor => apply1(Transpose, [x], { perm });

/**
 * Reshape to `shape`. A named dim equal to the input's dim at the same position is copied (ONNX 0);
 * otherwise one named or -1 entry is inferred.
 */
export const reshape = (x: Tensor, shape: Shape): Tensor => {
  const target = shape.map((d, i) => (typeof d === 'number' ? d : x.shape[i] === d ? 0 : -1));
  const y = apply1(Reshape, [x, x.graph.int64s(target)], {});
  const wrong = shape.findIndex((d, i) => typeof d === 'string' && y.shape[i] !== d);
  if (wrong >= 0) {
    throw buildError(
      'Reshape',
      `named dim '${shape[wrong]}' is not what ${formatShape(x.shape)} reshapes to (${y.shape[wrong]})`,
    );
  }
  return y;
};

/**
 * Concatenates along `axis`. More than MAX_KERNEL_TENSORS - 1 inputs become a tree of Concats, so that
 * no kernel binds more tensors than WebGPU allows.
 */
export const concat = (xs: readonly Tensor[], axis: number): Tensor => {
  if (xs.length === 1) return xs[0];
  if (xs.length < MAX_KERNEL_TENSORS) return apply1(Concat, xs, { axis });
  return concat(
    chunks(xs, MAX_KERNEL_TENSORS - 1).map((part) => concat(part, axis)),
    axis,
  );
};

/**
 * Splits into parts of `sizes` along `axis`. More than MAX_KERNEL_TENSORS - 1 parts become a tree of
 * Splits (first into groups, then each group), for the same reason as concat.
 */
export const split = (x: Tensor, sizes: readonly number[], axis: number): Tensor[] => {
  if (sizes.length < MAX_KERNEL_TENSORS)
    return apply(Split, [x, x.graph.int64s(sizes)], { axis }, sizes.length);
  const groups = chunks(sizes, Math.ceil(sizes.length / (MAX_KERNEL_TENSORS - 1)));
  const totals = groups.map((g) => g.reduce((a, b) => a + b, 0));
  return split(x, totals, axis).flatMap((part, i) =>
    groups[i].length === 1 ? [part] : split(part, groups[i], axis),
  );
};

/** x[starts:ends:steps] along `axes` (ONNX clamping semantics). */
export const slice = (
  x: Tensor,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
  steps?: readonly number[],
): Tensor => {
  const g = x.graph;
  const inputs = [x, g.int64s(starts), g.int64s(ends), axes && g.int64s(axes), steps && g.int64s(steps)];
  return apply1(Slice, inputs, {});
};

/** Broadcasts x to `shape` (numpy rules; named dims must already be present in x). */
export const expand = (x: Tensor, shape: Shape): Tensor =>
  apply1(Expand, [x, x.graph.int64s(expandConstant(x, shape))], {});

/** Pads with a constant along `axes` (default all): begins and ends per axis. */
export const pad = (
  x: Tensor,
  begins: readonly number[],
  ends: readonly number[],
  { value = 0, axes }: { value?: number; axes?: readonly number[] } = {},
): Tensor => {
  const g = x.graph;
  return apply1(Pad, [x, g.int64s([...begins, ...ends]), g.scalar(value, x.dtype), axes && g.int64s(axes)], {
    mode: 'constant',
  });
};

/** Broadcasts x to the runtime shape of `like` (works with dynamic dims). */
export const expandAs = (x: Tensor, like: Tensor): Tensor => apply1(Expand, [x, shapeOf(like)], {});

export const unsqueeze = (x: Tensor, axes: readonly number[]): Tensor =>
  apply1(Unsqueeze, [x, x.graph.int64s(axes)], {});

export const squeeze = (x: Tensor, axes?: readonly number[]): Tensor =>
  apply1(Squeeze, [x, axes && x.graph.int64s(axes)], {});

/** The shape of x as a 1-D int64 tensor (a constant when the dims are static). */
export const shapeOf = (x: Tensor, start?: number, end?: number): Tensor =>
  apply1(ShapeOp, [x], { start, end });

export const cast = (x: Tensor, to: DType): Tensor =>
  x.dtype === to ? x : apply1(Cast, [x], { to: onnxTypeCode(to) });
