import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';

/** PyTorch's bicubic convolution kernel (A = -0.75), the weight of a tap at distance x. */
function cubic(x: number): number {
  const A = -0.75;
  const t = Math.abs(x);
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

/** Resamples rows of [side*side, D] values on a grid to newSide x newSide, as F.interpolate(bicubic, align_corners=False). */
function bicubicGrid(values: Float32Array, side: number, newSide: number, dim: number): Float32Array {
  const scale = side / newSide;
  const taps = (o: number) => {
    const real = (o + 0.5) * scale - 0.5;
    const base = Math.floor(real);
    const t = real - base;
    return [-1, 0, 1, 2].map((k) => ({
      index: Math.min(side - 1, Math.max(0, base + k)),
      weight: cubic(k - t),
    }));
  };
  const out = new Float32Array(newSide * newSide * dim);
  for (let y = 0; y < newSide; y++) {
    const ty = taps(y);
    for (let x = 0; x < newSide; x++) {
      const tx = taps(x);
      for (const a of ty)
        for (const b of tx) {
          const w = a.weight * b.weight;
          const from = (a.index * side + b.index) * dim;
          const to = (y * newSide + x) * dim;
          for (let d = 0; d < dim; d++) out[to + d] += w * values[from + d];
        }
    }
  }
  return out;
}

/**
 * A learned position table [1, 1 + side^2, D] for another grid: the cls row kept, the patch rows
 * resampled bicubically (timm's resample_abs_pos_embed does the same), for a different image size.
 */
export function resizePositionTable(table: TensorData, newSide: number): TensorData {
  const [, rows, dim] = table.shape;
  const side = Math.round(Math.sqrt(rows - 1));
  if (side * side !== rows - 1)
    throw new Error(`a position table of ${rows} rows is not cls + a square grid`);
  const data = table.data as Float32Array;
  const out = new Float32Array((1 + newSide * newSide) * dim);
  out.set(data.subarray(0, dim));
  out.set(bicubicGrid(data.subarray(dim), side, newSide, dim), dim);
  return tensorData('float32', [1, 1 + newSide * newSide, dim], out);
}
