/** Element types the builder knows, named as onnxruntime-common names them. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';

export type FloatDType = 'float32' | 'float64' | 'float16';

/** The JS container for each element type (float16 held as raw bits, as onnxruntime-node accepts it). */
export interface TypedArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type AnyTypedArray = TypedArrayOf[DType];

/** onnx.TensorProto.DataType codes. */
const ONNX_CODE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

export function onnxTypeCode(dtype: DType): number {
  return ONNX_CODE[dtype];
}

export function dtypeFromOnnxCode(code: number): DType {
  const found = (Object.keys(ONNX_CODE) as DType[]).find((d) => ONNX_CODE[d] === code);
  if (!found) throw new Error(`ONNX element type ${code} is not supported by cae-onnx`);
  return found;
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

export function allocate<D extends DType>(dtype: D, length: number): TypedArrayOf[D] {
  const make: { [K in DType]: (n: number) => TypedArrayOf[K] } = {
    float32: (n) => new Float32Array(n),
    float64: (n) => new Float64Array(n),
    float16: (n) => new Uint16Array(n),
    int64: (n) => new BigInt64Array(n),
    int32: (n) => new Int32Array(n),
    uint8: (n) => new Uint8Array(n),
    bool: (n) => new Uint8Array(n),
  };
  return make[dtype](length);
}

/** Reads element i as a JS number (int64 converted; float16 not decoded). */
export function elementAsNumber(data: AnyTypedArray, i: number): number {
  return Number(data[i]);
}

/** Writes a JS number into element i of a typed array of the given dtype, with ONNX Cast semantics. */
export function setElementFromNumber(dtype: DType, data: AnyTypedArray, i: number, value: number): void {
  if (dtype === 'int64') (data as BigInt64Array)[i] = BigInt(Math.trunc(value));
  else if (dtype === 'bool') (data as Uint8Array)[i] = value !== 0 ? 1 : 0;
  else if (dtype === 'float16') throw new Error('float16 constants are not folded at build time');
  else (data as Float32Array | Float64Array | Int32Array | Uint8Array)[i] = value;
}
