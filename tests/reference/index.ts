/** Naive, independent reference implementation of a subset of ONNX (opset 21) operators. */
export * from './ndarray';
export * from './elementwise';
export * from './linalg';
export * from './nn';
export * from './reduce';
export * from './shape-ops';
export * from './index-ops';
