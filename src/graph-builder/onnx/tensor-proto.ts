import { onnx } from 'onnx-proto';
import { allocate, dtypeFromOnnxCode, onnxTypeCode } from '../core/dtype';
import { Dim, Shape } from '../core/shape';
import { rawBytes, sizeOf, tensorData, TensorData } from '../core/tensor-data';

/** A TensorProto holding the data as raw little-endian bytes (a view, not a copy). */
export function toTensorProto(name: string, value: TensorData): onnx.TensorProto {
  return onnx.TensorProto.create({
    name,
    dataType: onnxTypeCode(value.dtype),
    dims: [...value.shape],
    rawData: rawBytes(value),
  });
}

/** Reads a TensorProto's inline data (raw bytes or typed fields) into a TensorData. */
export function fromTensorProto(t: onnx.ITensorProto, externalBytes?: Uint8Array): TensorData {
  const dtype = dtypeFromOnnxCode(t.dataType ?? 0);
  const shape = (t.dims ?? []).map((d) => Number(d));
  const n = sizeOf(shape);
  const out = allocate(dtype, n);
  const raw = externalBytes ?? (t.rawData && t.rawData.length > 0 ? t.rawData : undefined);
  if (raw) {
    if (raw.byteLength !== out.byteLength) {
      throw new Error(`tensor '${t.name}': ${raw.byteLength} bytes of data for ${n} ${dtype} elements`);
    }
    new Uint8Array(out.buffer).set(raw);
    return tensorData(dtype, shape, out);
  }
  const typed: ArrayLike<number | { toString(): string }> | null | undefined =
    dtype === 'float32'
      ? t.floatData
      : dtype === 'float64'
        ? t.doubleData
        : dtype === 'int64'
          ? t.int64Data
          : t.int32Data;
  const values = typed ?? [];
  if (values.length !== n)
    throw new Error(`tensor '${t.name}' has ${values.length} values for ${n} elements`);
  for (let i = 0; i < n; i++) {
    if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(values[i].toString());
    else (out as Exclude<typeof out, BigInt64Array>)[i] = Number(values[i]);
  }
  return tensorData(dtype, shape, out);
}

export function toTypeProto(dtype: TensorData['dtype'], shape: Shape): onnx.TypeProto {
  return onnx.TypeProto.create({
    tensorType: {
      elemType: onnxTypeCode(dtype),
      shape: { dim: shape.map((d: Dim) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  });
}
