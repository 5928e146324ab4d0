import { allocate, AnyTypedArray, DType, TypedArrayOf } from './dtype';

/** A concrete tensor value: constants, initializers, parameter values. Row-major, little-endian. */
export interface TensorData<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayOf[D];
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensorData<D extends DType>(dtype: D, shape: readonly number[], data?: TypedArrayOf[D]) {
  const n = sizeOf(shape);
  const values = data ?? allocate(dtype, n);
  if (values.length !== n) {
    throw new Error(`tensor of shape [${shape.join(', ')}] needs ${n} elements, got ${values.length}`);
  }
  return { dtype, shape: [...shape], data: values } as TensorData<D>;
}

/** A constant from plain JS numbers (int64 from integers, bool from 0/1). */
export function fromNumbers(dtype: DType, shape: readonly number[], values: readonly number[]): TensorData {
  const out = allocate(dtype, values.length);
  values.forEach((v, i) => {
    if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(v);
    else if (dtype === 'float16') throw new Error('float16 constants must be given as raw bits');
    else (out as Exclude<AnyTypedArray, BigInt64Array>)[i] = v;
  });
  return tensorData(dtype, shape, out);
}

export function toNumbers(t: TensorData): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** The bytes of a tensor's data, little-endian as ONNX raw_data expects (viewed, not copied). */
export function rawBytes(t: TensorData): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}
