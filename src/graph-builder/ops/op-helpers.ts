import { DType, setElementFromNumber, allocate } from '../core/dtype';
import { ShapeError } from '../core/errors';
import { Dim, formatShape, isStatic, Shape } from '../core/shape';
import type { Tensor } from '../core/tensor';
import { sizeOf, TensorData, tensorData, toNumbers } from '../core/tensor-data';

/** The values of an input that must be known at build time (shapes, axes, slice bounds). */
export function constInts(t: Tensor | undefined, what: string): number[] {
  if (!t) throw new ShapeError(`${what} is required`);
  if (!t.value) throw new ShapeError(`${what} must be a build-time constant (static shapes)`);
  return toNumbers(t.value);
}

export function requireSameDtype(tensors: readonly (Tensor | undefined)[]): DType {
  const present = tensors.filter((t): t is Tensor => t !== undefined);
  const dtype = present[0].dtype;
  const other = present.find((t) => t.dtype !== dtype);
  if (other) throw new ShapeError(`element types differ: ${present.map((t) => t.dtype).join(' vs ')}`);
  return dtype;
}

export function requireDtype(t: Tensor, allowed: readonly DType[], what: string): void {
  if (!allowed.includes(t.dtype))
    throw new ShapeError(`${what} must be ${allowed.join(' or ')}, got ${t.dtype}`);
}

export function requireRank(t: Tensor, rank: number, what: string): void {
  if (t.rank !== rank) throw new ShapeError(`${what} must have rank ${rank}, got ${formatShape(t.shape)}`);
}

export function requireStaticDim(d: Dim, what: string): number {
  if (typeof d !== 'number') throw new ShapeError(`${what} must be static, got '${d}'`);
  return d;
}

/** Evaluates an elementwise function over broadcast constant inputs (build-time folding). */
export function foldBroadcast(
  inputs: readonly TensorData[],
  outDtype: DType,
  outShape: Shape,
  fn: (...xs: number[]) => number,
): TensorData {
  if (!isStatic(outShape)) throw new ShapeError('cannot fold a dynamic shape');
  const n = sizeOf(outShape);
  const rank = outShape.length;
  const out = allocate(outDtype, n);
  const values = inputs.map((t) => toNumbers(t));
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let rest = i;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = rest % outShape[d];
      rest = Math.floor(rest / outShape[d]);
    }
    const args = inputs.map((t, k) => {
      let offset = 0;
      const shift = rank - t.shape.length;
      for (let d = 0; d < t.shape.length; d++)
        offset = offset * t.shape[d] + (t.shape[d] === 1 ? 0 : index[d + shift]);
      return values[k][offset];
    });
    setElementFromNumber(outDtype, out, i, fn(...args));
  }
  return tensorData(outDtype, outShape, out);
}

/**
 * The most tensors (inputs + outputs) one node may bind. WebGPU guarantees 8 storage buffers per
 * shader stage (maxStorageBuffersPerShaderStage); ORT's WebGPU kernels bind each tensor as one, so a
 * wider Concat or Split fails there ("Too many storage buffers in shader"). The builders of variadic
 * ops keep under it.
 */
export const MAX_KERNEL_TENSORS = 8;

/** xs in consecutive runs of at most `size`. */
export function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
