/** Indexing ONNX operators: Gather, GatherElements, ScatterElements, OneHot. */
import { NDArray, fromFunction, get, indexToOffset, normalizeAxis, offsetToIndex } from './ndarray';

/** Wraps a possibly negative index into [0, dim), throwing when out of range. */
function wrapIndex(i: number, dim: number): number {
  const w = i < 0 ? i + dim : i;
  if (!Number.isInteger(w) || w < 0 || w >= dim) throw new Error(`index ${i} out of range for dim ${dim}`);
  return w;
}

/** ONNX Gather: out shape = x.shape[:axis] + indices.shape + x.shape[axis+1:]. */
export function gather(x: NDArray, indices: NDArray, axis = 0): NDArray {
  const a = normalizeAxis(axis, x.shape.length);
  const q = indices.shape.length;
  const outShape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return fromFunction(outShape, (idx) => {
    const k = wrapIndex(get(indices, idx.slice(a, a + q)), x.shape[a]);
    return get(x, [...idx.slice(0, a), k, ...idx.slice(a + q)]);
  });
}

/** ONNX GatherElements: out[i] = x[i with i[axis] replaced by indices[i]]; out shape = indices shape. */
export function gatherElements(x: NDArray, indices: NDArray, axis = 0): NDArray {
  const a = normalizeAxis(axis, x.shape.length);
  return fromFunction(indices.shape, (idx) => {
    const src = [...idx];
    src[a] = wrapIndex(get(indices, idx), x.shape[a]);
    return get(x, src);
  });
}

/**
 * ONNX ScatterElements: a copy of `data` where, for every position i of `indices`,
 * out[i with i[axis] replaced by indices[i]] = updates[i] ('none', later writes win) or += ('add').
 */
export function scatterElements(
  data: NDArray,
  indices: NDArray,
  updates: NDArray,
  axis = 0,
  reduction: 'none' | 'add' = 'none',
): NDArray {
  const a = normalizeAxis(axis, data.shape.length);
  const out: NDArray = { shape: [...data.shape], data: data.data.slice() };
  for (let o = 0; o < indices.data.length; o++) {
    const idx = offsetToIndex(o, indices.shape);
    const dst = [...idx];
    dst[a] = wrapIndex(indices.data[o], data.shape[a]);
    const off = indexToOffset(dst, data.shape);
    const u = get(updates, idx);
    out.data[off] = reduction === 'add' ? out.data[off] + u : u;
  }
  return out;
}

/**
 * ONNX OneHot: output rank = indices rank + 1 with a new dim of size `depth` inserted at `axis`
 * (negative axis relative to the output rank). Negative indices wrap by depth; indices outside
 * [-depth, depth - 1] give an all-off row. values = [off, on].
 */
export function oneHot(
  indices: NDArray,
  depth: number,
  values: readonly [number, number],
  axis = -1,
): NDArray {
  const outRank = indices.shape.length + 1;
  const a = normalizeAxis(axis, outRank);
  const outShape = [...indices.shape.slice(0, a), depth, ...indices.shape.slice(a)];
  const [off, on] = values;
  return fromFunction(outShape, (idx) => {
    const raw = Math.trunc(get(indices, [...idx.slice(0, a), ...idx.slice(a + 1)]));
    const k = raw < 0 ? raw + depth : raw;
    return k === idx[a] ? on : off;
  });
}
