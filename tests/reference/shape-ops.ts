/**
 * Shape / layout ONNX operators: Transpose, Reshape, Concat, Split, Slice, Expand, Unsqueeze, Squeeze,
 * Shape.
 */
import {
  NDArray,
  broadcastGet,
  broadcastShapes,
  fromFunction,
  get,
  nd,
  normalizeAxis,
  size,
} from './ndarray';

/** ONNX Transpose: output dim i is input dim perm[i]; default perm reverses the dims. */
export function transpose(x: NDArray, perm?: number[]): NDArray {
  const rank = x.shape.length;
  const p = perm ?? x.shape.map((_, i) => rank - 1 - i);
  const outShape = p.map((a) => x.shape[a]);
  return fromFunction(outShape, (outIdx) => {
    const inIdx = new Array<number>(rank);
    p.forEach((a, i) => (inIdx[a] = outIdx[i]));
    return get(x, inIdx);
  });
}

/** ONNX Reshape (allowzero = 0): 0 copies the input dim at that position, -1 is inferred. */
export function reshape(x: NDArray, shape: readonly number[]): NDArray {
  const out = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const inferAt = out.indexOf(-1);
  if (inferAt >= 0) {
    const known = out.reduce((p, d, i) => (i === inferAt ? p : p * d), 1);
    out[inferAt] = size(x.shape) / known;
  }
  if (size(out) !== x.data.length || !out.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`reshape: cannot reshape [${x.shape.join(',')}] to [${shape.join(',')}]`);
  }
  return { shape: out, data: x.data.slice() };
}

/** ONNX Concat along `axis` (negative allowed). */
export function concat(xs: readonly NDArray[], axis: number): NDArray {
  const a = normalizeAxis(axis, xs[0].shape.length);
  const outShape = [...xs[0].shape];
  outShape[a] = xs.reduce((p, x) => p + x.shape[a], 0);
  return fromFunction(outShape, (idx) => {
    let i = idx[a];
    for (const x of xs) {
      if (i < x.shape[a]) return get(x, [...idx.slice(0, a), i, ...idx.slice(a + 1)]);
      i -= x.shape[a];
    }
    throw new Error('concat: unreachable');
  });
}

/** ONNX Split with explicit split sizes along `axis`. */
export function split(x: NDArray, splitSizes: readonly number[], axis: number): NDArray[] {
  const a = normalizeAxis(axis, x.shape.length);
  if (splitSizes.reduce((p, q) => p + q, 0) !== x.shape[a]) throw new Error('split: sizes do not sum to dim');
  let start = 0;
  return splitSizes.map((len) => {
    const begin = start;
    start += len;
    const outShape = [...x.shape];
    outShape[a] = len;
    return fromFunction(outShape, (idx) => get(x, [...idx.slice(0, a), begin + idx[a], ...idx.slice(a + 1)]));
  });
}

/**
 * ONNX Slice. Per axis: negative start/end get dim added; then for step > 0 start and end are clamped
 * to [0, dim]; for step < 0 start is clamped to [0, dim - 1] and end to [-1, dim - 1]. The selected
 * indices are start, start + step, ... while strictly before end.
 */
export function slice(
  x: NDArray,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
  steps?: readonly number[],
): NDArray {
  const rank = x.shape.length;
  const begin = x.shape.map(() => 0);
  const step = x.shape.map(() => 1);
  const outShape = [...x.shape];
  const ax = axes ?? starts.map((_, i) => i);
  ax.forEach((rawAxis, i) => {
    const a = normalizeAxis(rawAxis, rank);
    const dim = x.shape[a];
    const st = steps?.[i] ?? 1;
    if (st === 0) throw new Error('slice: step cannot be 0');
    let s = starts[i] < 0 ? starts[i] + dim : starts[i];
    let e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (st > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
    }
    begin[a] = s;
    step[a] = st;
    outShape[a] = Math.max(0, Math.ceil((e - s) / st));
  });
  return fromFunction(outShape, (idx) =>
    get(
      x,
      idx.map((v, i) => begin[i] + v * step[i]),
    ),
  );
}

/** ONNX Expand: result shape is the numpy broadcast of x.shape and `shape`. */
export function expand(x: NDArray, shape: readonly number[]): NDArray {
  return fromFunction(broadcastShapes(x.shape, shape), (idx) => broadcastGet(x, idx));
}

/** ONNX Unsqueeze: `axes` index the output (negative allowed, relative to output rank). */
export function unsqueeze(x: NDArray, axes: readonly number[]): NDArray {
  const outRank = x.shape.length + axes.length;
  const inserted = new Set(axes.map((a) => normalizeAxis(a, outRank)));
  const outShape: number[] = [];
  let j = 0;
  for (let i = 0; i < outRank; i++) outShape.push(inserted.has(i) ? 1 : x.shape[j++]);
  return { shape: outShape, data: x.data.slice() };
}

/** ONNX Squeeze: removes the listed size-1 axes, or every size-1 axis when `axes` is omitted. */
export function squeeze(x: NDArray, axes?: readonly number[]): NDArray {
  const rank = x.shape.length;
  const removed = new Set(
    axes === undefined
      ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : axes.map((a) => normalizeAxis(a, rank)),
  );
  for (const a of removed) if (x.shape[a] !== 1) throw new Error(`squeeze: dim ${a} is not 1`);
  return { shape: x.shape.filter((_, i) => !removed.has(i)), data: x.data.slice() };
}

/** ONNX Shape: 1-D tensor of the input dims. */
export function shape(x: NDArray): NDArray {
  return nd([x.shape.length], x.shape);
}
