/**
 * Minimal N-dimensional array used by the naive ONNX reference implementation.
 *
 * Every dtype is held as JS numbers in a Float64Array: bool as 0/1, integers as integral values.
 * Layout is row-major (C order), matching ONNX tensors.
 */
export interface NDArray {
  shape: number[];
  data: Float64Array;
}

/** Number of elements of a tensor with the given shape (1 for a scalar shape []). */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Builds an NDArray, checking that the data length matches the shape. */
export function nd(shape: readonly number[], data: ArrayLike<number>): NDArray {
  const arr = Float64Array.from(data);
  const n = size(shape);
  if (arr.length !== n) {
    throw new Error(`nd: shape [${shape.join(',')}] needs ${n} elements, got ${arr.length}`);
  }
  return { shape: [...shape], data: arr };
}

/** A zero-filled NDArray of the given shape. */
export function zeros(shape: readonly number[]): NDArray {
  return { shape: [...shape], data: new Float64Array(size(shape)) };
}

/** Row-major strides (in elements). */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Multi-index -> flat offset. */
export function indexToOffset(index: readonly number[], shape: readonly number[]): number {
  const st = strides(shape);
  let off = 0;
  for (let i = 0; i < shape.length; i++) off += index[i] * st[i];
  return off;
}

/** Flat offset -> multi-index. */
export function offsetToIndex(offset: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  let rest = offset;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i];
    index[i] = d === 0 ? 0 : rest % d;
    rest = d === 0 ? 0 : Math.floor(rest / d);
  }
  return index;
}

/** Normalizes a possibly negative axis into [0, rank). */
export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy-style (multidirectional) broadcast of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw new Error(`cannot broadcast [${a.join(',')}] with [${b.join(',')}]`);
  }
  return out;
}

/** Broadcast of any number of shapes. */
export function broadcastAll(...shapes: (readonly number[])[]): number[] {
  return shapes.reduce<number[]>((acc, s) => broadcastShapes(acc, s), []);
}

/**
 * Reads the element of `x` that is broadcast to position `outIndex` of an output whose rank is
 * `outIndex.length` (x's dims are right-aligned; size-1 dims are repeated).
 */
export function broadcastGet(x: NDArray, outIndex: readonly number[]): number {
  const lead = outIndex.length - x.shape.length;
  let off = 0;
  let stride = 1;
  for (let i = x.shape.length - 1; i >= 0; i--) {
    const d = x.shape[i];
    const idx = d === 1 ? 0 : outIndex[i + lead];
    off += idx * stride;
    stride *= d;
  }
  return x.data[off];
}

/** Builds an array of the given shape by evaluating `f` at every multi-index (row-major order). */
export function fromFunction(shape: readonly number[], f: (index: number[]) => number): NDArray {
  const out = zeros(shape);
  for (let o = 0; o < out.data.length; o++) out.data[o] = f(offsetToIndex(o, shape));
  return out;
}

/** Reads x at a full multi-index. */
export function get(x: NDArray, index: readonly number[]): number {
  return x.data[indexToOffset(index, x.shape)];
}

/** Converts an NDArray into nested JS arrays (handy for assertions). A scalar returns a number. */
export function toNested(x: NDArray): unknown {
  const rec = (dim: number, offset: number): unknown => {
    if (dim === x.shape.length) return x.data[offset];
    const st = strides(x.shape)[dim];
    const out: unknown[] = [];
    for (let i = 0; i < x.shape[dim]; i++) out.push(rec(dim + 1, offset + i * st));
    return out;
  };
  return rec(0, 0);
}

/** mulberry32: a tiny deterministic PRNG producing uniform floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An NDArray of uniform random values in [lo, hi). */
export function randomNd(shape: readonly number[], rng: () => number, lo = -1, hi = 1): NDArray {
  const out = zeros(shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = lo + (hi - lo) * rng();
  return out;
}
