/** ONNX reductions: ReduceSum, ReduceMean, ReduceMax (noop_with_empty_axes = 0). */
import { NDArray, indexToOffset, normalizeAxis, offsetToIndex, zeros } from './ndarray';

/**
 * Generic reduction. `axes` undefined or empty reduces over every axis. The result keeps reduced dims
 * as 1 when keepdims = 1, otherwise drops them. `combine` folds the values of one group (in row-major
 * order of the input).
 */
function reduce(
  x: NDArray,
  axes: readonly number[] | undefined,
  keepdims: number,
  combine: (values: number[]) => number,
): NDArray {
  const rank = x.shape.length;
  const reduced = new Set(
    axes === undefined || axes.length === 0
      ? x.shape.map((_, i) => i)
      : axes.map((a) => normalizeAxis(a, rank)),
  );
  const keptShape = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: keptShape.reduce((p, q) => p * q, 1) }, () => []);
  for (let o = 0; o < x.data.length; o++) {
    const idx = offsetToIndex(o, x.shape).map((v, i) => (reduced.has(i) ? 0 : v));
    groups[indexToOffset(idx, keptShape)].push(x.data[o]);
  }
  const outShape = keepdims ? keptShape : x.shape.filter((_, i) => !reduced.has(i));
  const out = zeros(outShape);
  groups.forEach((g, i) => (out.data[i] = combine(g)));
  return out;
}

const sum = (v: number[]): number => v.reduce((p, q) => p + q, 0);

export function reduceSum(x: NDArray, axes?: number[], keepdims = 1): NDArray {
  return reduce(x, axes, keepdims, sum);
}

export function reduceMean(x: NDArray, axes?: number[], keepdims = 1): NDArray {
  return reduce(x, axes, keepdims, (v) => sum(v) / v.length);
}

/** ReduceMax; NaN propagates. An empty group gives -Infinity. */
export function reduceMax(x: NDArray, axes?: number[], keepdims = 1): NDArray {
  return reduce(x, axes, keepdims, (v) => v.reduce((p, q) => Math.max(p, q), -Infinity));
}
