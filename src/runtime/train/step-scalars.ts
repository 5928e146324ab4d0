import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';

/** Scalar feeds of a train step. */
export function stepScalars(lr: number, step: number): Record<string, TensorData> {
  return {
    lr: tensorData('float32', [], Float32Array.of(lr)),
    step: tensorData('int64', [], BigInt64Array.of(BigInt(step))),
  };
}
