import { tensorData, TensorData } from '../core/tensor-data';

/**
 * The fixed 2-D sin-cos position table of CAE (not trained): with w_k = 1/10000^(k/(D/4)),
 * k = 0..D/4-1, the patch at row r, column c (token n = r * side + c) gets
 * [sin(r w), cos(r w), sin(c w), cos(c w)]. Returns [side*side, D] (no cls row; cls has zeros).
 */
export function sincosTable(side: number, dim: number): TensorData<'float32'> {
  if (dim % 4 !== 0) throw new Error(`sin-cos positions need dim divisible by 4, got ${dim}`);
  const quarter = dim / 4;
  const out = new Float32Array(side * side * dim);
  for (let n = 0; n < side * side; n++) {
    const r = Math.floor(n / side);
    const c = n % side;
    for (let k = 0; k < quarter; k++) {
      // float32 arithmetic as the reference computes it in torch.float32
      const omega = Math.fround(1 / Math.fround(10000 ** Math.fround(k / quarter)));
      const rw = Math.fround(r * omega);
      const cw = Math.fround(c * omega);
      const row = n * dim;
      out[row + k] = Math.sin(rw);
      out[row + quarter + k] = Math.cos(rw);
      out[row + 2 * quarter + k] = Math.sin(cw);
      out[row + 3 * quarter + k] = Math.cos(cw);
    }
  }
  return tensorData('float32', [side * side, dim], out);
}
