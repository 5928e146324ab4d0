/** Neural-network ONNX operators: Softmax, LogSoftmax, LayerNormalization, Conv and MaxPool (2-D). */
import {
  NDArray,
  broadcastGet,
  fromFunction,
  get,
  indexToOffset,
  normalizeAxis,
  offsetToIndex,
  size,
  zeros,
} from './ndarray';

/** Calls `f` with the flat offsets of every 1-D fibre of `shape` along `axis`. */
function forEachFibre(shape: readonly number[], axis: number, f: (offsets: number[]) => void): void {
  const outer = [...shape];
  outer[axis] = 1;
  for (let o = 0; o < size(outer); o++) {
    const idx = offsetToIndex(o, outer);
    const offsets: number[] = [];
    for (let i = 0; i < shape[axis]; i++) {
      idx[axis] = i;
      offsets.push(indexToOffset(idx, shape));
    }
    f(offsets);
  }
}

/** ONNX Softmax (opset >= 13): exp(x - max) / sum(exp(x - max)) along one axis. */
export function softmax(x: NDArray, axis = -1): NDArray {
  const out = zeros(x.shape);
  forEachFibre(x.shape, normalizeAxis(axis, x.shape.length), (offs) => {
    const m = Math.max(...offs.map((o) => x.data[o]));
    const e = offs.map((o) => Math.exp(x.data[o] - m));
    const s = e.reduce((p, q) => p + q, 0);
    offs.forEach((o, i) => (out.data[o] = e[i] / s));
  });
  return out;
}

/** ONNX LogSoftmax: (x - max) - log(sum(exp(x - max))) along one axis. */
export function logSoftmax(x: NDArray, axis = -1): NDArray {
  const out = zeros(x.shape);
  forEachFibre(x.shape, normalizeAxis(axis, x.shape.length), (offs) => {
    const m = Math.max(...offs.map((o) => x.data[o]));
    const lse = Math.log(offs.map((o) => Math.exp(x.data[o] - m)).reduce((p, q) => p + q, 0));
    for (const o of offs) out.data[o] = x.data[o] - m - lse;
  });
  return out;
}

export interface LayerNormOptions {
  axis?: number;
  epsilon?: number;
}

export interface LayerNormResult {
  y: NDArray;
  /** Shape: x.shape with dims from `axis` on set to 1. */
  mean: NDArray;
  /** Shape: same as `mean`. */
  invStdDev: NDArray;
}

/**
 * ONNX LayerNormalization: normalizes over all dims from `axis` to the end (biased variance), then
 * y = (x - mean) * invStdDev * scale + bias, with scale/bias broadcast against x.
 */
export function layerNormalization(
  x: NDArray,
  scale: NDArray,
  bias?: NDArray,
  opts: LayerNormOptions = {},
): LayerNormResult {
  const rank = x.shape.length;
  const axis = normalizeAxis(opts.axis ?? -1, rank);
  const epsilon = opts.epsilon ?? 1e-5;
  const statShape = x.shape.map((d, i) => (i < axis ? d : 1));
  const groupSize = size(x.shape.slice(axis));
  const groups = size(x.shape.slice(0, axis));
  const y = zeros(x.shape);
  const mean = zeros(statShape);
  const invStdDev = zeros(statShape);
  // Row-major layout: group g occupies offsets [g * groupSize, (g + 1) * groupSize).
  for (let g = 0; g < groups; g++) {
    const base = g * groupSize;
    let s = 0;
    for (let i = 0; i < groupSize; i++) s += x.data[base + i];
    const mu = s / groupSize;
    let v = 0;
    for (let i = 0; i < groupSize; i++) v += (x.data[base + i] - mu) ** 2;
    const inv = 1 / Math.sqrt(v / groupSize + epsilon);
    mean.data[g] = mu;
    invStdDev.data[g] = inv;
    for (let i = 0; i < groupSize; i++) {
      const idx = offsetToIndex(base + i, x.shape);
      const normalized = (x.data[base + i] - mu) * inv;
      const b = bias === undefined ? 0 : broadcastGet(bias, idx);
      y.data[base + i] = normalized * broadcastGet(scale, idx) + b;
    }
  }
  return { y, mean, invStdDev };
}

export interface ConvOptions {
  /** [strideH, strideW], default [1, 1]. */
  strides?: number[];
  /** [hBegin, wBegin, hEnd, wEnd], default zeros. */
  pads?: number[];
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: number[];
  group?: number;
}

/**
 * ONNX Conv for 2-D NCHW input. x: [N, C, H, W], w: [M, C / group, kH, kW], b: [M].
 * Output spatial size: floor((H + padBegin + padEnd - dilation * (k - 1) - 1) / stride) + 1.
 */
export function conv(x: NDArray, w: NDArray, b?: NDArray, opts: ConvOptions = {}): NDArray {
  const [sH, sW] = opts.strides ?? [1, 1];
  const [pT, pL, pB, pR] = opts.pads ?? [0, 0, 0, 0];
  const [dH, dW] = opts.dilations ?? [1, 1];
  const group = opts.group ?? 1;
  const [N, C, H, W] = x.shape;
  const [M, Cg, kH, kW] = w.shape;
  if (C !== Cg * group) throw new Error(`conv: C=${C} != (C/group=${Cg}) * group=${group}`);
  if (M % group !== 0) throw new Error(`conv: M=${M} not divisible by group=${group}`);
  const oH = Math.floor((H + pT + pB - dH * (kH - 1) - 1) / sH) + 1;
  const oW = Math.floor((W + pL + pR - dW * (kW - 1) - 1) / sW) + 1;
  const mPerGroup = M / group;
  const out = zeros([N, M, oH, oW]);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / mPerGroup);
      for (let oy = 0; oy < oH; oy++) {
        for (let ox = 0; ox < oW; ox++) {
          let acc = b === undefined ? 0 : b.data[m];
          for (let c = 0; c < Cg; c++) {
            for (let ky = 0; ky < kH; ky++) {
              const iy = oy * sH - pT + ky * dH;
              if (iy < 0 || iy >= H) continue; // zero padding
              for (let kx = 0; kx < kW; kx++) {
                const ix = ox * sW - pL + kx * dW;
                if (ix < 0 || ix >= W) continue;
                acc += get(x, [n, g * Cg + c, iy, ix]) * get(w, [m, c, ky, kx]);
              }
            }
          }
          out.data[indexToOffset([n, m, oy, ox], out.shape)] = acc;
        }
      }
    }
  }
  return out;
}

/** ONNX MaxPool, 2-D, no padding: max over each k x k window at stride s. x: [N, C, H, W]. */
export function maxPool2d(x: NDArray, k: number, s = k): NDArray {
  const [N, C, H, W] = x.shape;
  const oH = Math.floor((H - k) / s) + 1;
  const oW = Math.floor((W - k) / s) + 1;
  return fromFunction([N, C, oH, oW], ([n, c, oy, ox]) => {
    let best = -Infinity;
    for (let ky = 0; ky < k; ky++)
      for (let kx = 0; kx < k; kx++) best = Math.max(best, get(x, [n, c, oy * s + ky, ox * s + kx]));
    return best;
  });
}
