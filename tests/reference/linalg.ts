/** Matrix products: MatMul (numpy semantics) and Gemm. */
import { NDArray, broadcastGet, broadcastShapes, fromFunction, get, zeros } from './ndarray';

/**
 * ONNX MatMul = numpy.matmul: a 1-D first operand is treated as [1, K] and a 1-D second operand as
 * [K, 1] (the added dim is removed from the result); leading (batch) dims broadcast.
 */
export function matmul(a: NDArray, b: NDArray): NDArray {
  const aIs1d = a.shape.length === 1;
  const bIs1d = b.shape.length === 1;
  const aShape = aIs1d ? [1, a.shape[0]] : a.shape;
  const bShape = bIs1d ? [b.shape[0], 1] : b.shape;
  const [m, k] = aShape.slice(-2);
  const [k2, n] = bShape.slice(-2);
  if (k !== k2) throw new Error(`matmul: inner dims differ (${k} vs ${k2})`);
  const batch = broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2));
  const A: NDArray = { shape: aShape, data: a.data };
  const B: NDArray = { shape: bShape, data: b.data };
  const full = fromFunction([...batch, m, n], (idx) => {
    const pre = idx.slice(0, -2);
    const [i, j] = idx.slice(-2);
    let acc = 0;
    for (let p = 0; p < k; p++) {
      // broadcastGet right-aligns A/B against the output index, so batch dims broadcast.
      acc += broadcastGet(A, [...pre, i, p]) * broadcastGet(B, [...pre, p, j]);
    }
    return acc;
  });
  let outShape = [...batch, m, n];
  if (aIs1d) outShape = [...batch, n];
  if (bIs1d) outShape = aIs1d ? [...batch] : [...batch, m];
  return { shape: outShape, data: full.data };
}

export interface GemmOptions {
  alpha?: number;
  beta?: number;
  transA?: number;
  transB?: number;
}

/** ONNX Gemm: Y = alpha * A' * B' + beta * C, with C unidirectionally broadcast to [M, N]. */
export function gemm(a: NDArray, b: NDArray, c?: NDArray, opts: GemmOptions = {}): NDArray {
  const { alpha = 1, beta = 1, transA = 0, transB = 0 } = opts;
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== k2) throw new Error(`gemm: inner dims differ (${k} vs ${k2})`);
  const aAt = (i: number, p: number): number => (transA ? get(a, [p, i]) : get(a, [i, p]));
  const bAt = (p: number, j: number): number => (transB ? get(b, [j, p]) : get(b, [p, j]));
  if (c !== undefined && c.shape.length > 2) throw new Error('gemm: C must have rank <= 2');
  const out = zeros([m, n]);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += aAt(i, p) * bAt(p, j);
      const cv = c === undefined ? 0 : broadcastGet(c, [i, j]);
      out.data[i * n + j] = alpha * acc + beta * cv;
    }
  }
  return out;
}
