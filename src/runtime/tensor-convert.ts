import * as ort from 'onnxruntime-node';
import type { DType } from '../graph-builder/core/dtype';
import { tensorData, TensorData } from '../graph-builder/core/tensor-data';

/** Wraps a TensorData as an ORT tensor without copying (ORT reads inputs in place). */
export function toOrt(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data, [...t.shape]);
}

export function fromOrt(t: ort.Tensor): TensorData {
  return tensorData(t.type as DType, t.dims, t.data as TensorData['data']);
}
