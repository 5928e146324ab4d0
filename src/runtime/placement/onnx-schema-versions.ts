/**
 * The opset versions at which each ai.onnx op that cae-onnx emits got a new schema (ONNX's
 * Changelog.md), up to opset 21. A node of a model at opset N uses the newest schema at or below N,
 * and ONNX Runtime picks a kernel whose registered version range covers that schema's version: a
 * provider that registered Transpose only up to 20 has no kernel for Transpose in an opset-21 model.
 */
export const ONNX_SCHEMA_VERSIONS: Readonly<Record<string, readonly number[]>> = {
  Abs: [1, 6, 13],
  Add: [1, 6, 7, 13, 14],
  Cast: [1, 6, 9, 13, 19, 21],
  Clip: [1, 6, 11, 12, 13],
  Concat: [1, 4, 11, 13],
  Conv: [1, 11],
  Div: [1, 6, 7, 13, 14],
  Equal: [1, 7, 11, 13, 19],
  Erf: [9, 13],
  Exp: [1, 6, 13],
  Expand: [8, 13],
  Gather: [1, 11, 13],
  GatherElements: [11, 13],
  Gelu: [20],
  Gemm: [1, 6, 7, 9, 11, 13],
  Greater: [1, 7, 9, 13],
  Identity: [1, 13, 14, 16, 19, 21],
  IsInf: [10, 20],
  IsNaN: [9, 13, 20],
  LayerNormalization: [17],
  Less: [1, 7, 9, 13],
  Log: [1, 6, 13],
  LogSoftmax: [1, 11, 13],
  MatMul: [1, 9, 13],
  MaxPool: [1, 8, 10, 11, 12, 22],
  Max: [1, 6, 8, 12, 13],
  Min: [1, 6, 8, 12, 13],
  Mul: [1, 6, 7, 13, 14],
  Neg: [1, 6, 13],
  Not: [1],
  OneHot: [9, 11],
  Pad: [1, 2, 11, 13, 18, 19, 21],
  Pow: [1, 7, 12, 13, 15],
  Reciprocal: [1, 6, 13],
  ReduceMax: [1, 11, 12, 13, 18, 20],
  ReduceMean: [1, 11, 13, 18],
  ReduceSum: [1, 11, 13],
  ReduceSumSquare: [1, 11, 13, 18],
  Relu: [1, 6, 13, 14],
  Reshape: [1, 5, 13, 14, 19, 21],
  ScatterElements: [11, 13, 16, 18],
  Shape: [1, 13, 15, 19, 21],
  Sigmoid: [1, 6, 13],
  Sign: [9, 13],
  Slice: [1, 10, 11, 13],
  Softmax: [1, 11, 13],
  Split: [1, 2, 11, 13, 18],
  Sqrt: [1, 6, 13],
  Squeeze: [1, 11, 13, 21],
  Sub: [1, 6, 7, 13, 14],
  Sum: [1, 6, 8, 13],
  Tanh: [1, 6, 13],
  Transpose: [1, 13, 21],
  Unsqueeze: [1, 11, 13, 21],
  Where: [9, 16],
};

/** The schema version a node of `opType` has in a model of `opset`, or undefined when unknown or not yet defined. */
export function schemaVersion(opType: string, opset: number): number | undefined {
  const versions = ONNX_SCHEMA_VERSIONS[opType];
  if (!versions) return undefined;
  return [...versions].reverse().find((v) => v <= opset);
}
