/** Library entry: the graph builder, ONNX files, and the ORT session wrapper. */
export * from './graph-builder/core/dtype';
export * from './graph-builder/core/errors';
export { Graph } from './graph-builder/core/graph';
export type { InitSpec, Param, ParamOptions } from './graph-builder/core/graph';
export { Tensor } from './graph-builder/core/tensor';
export * from './graph-builder/core/tensor-data';
export * as op from './graph-builder/ops';
export { toModelProto } from './graph-builder/onnx/to-model-proto';
export { readInitializers, readModelFile, writeModelFile } from './artifacts/onnx-file';
export { ModelSession } from './runtime/session';
