import type { DType } from '../../src/graph-builder/core/dtype';
import { Graph } from '../../src/graph-builder/core/graph';
import { Tensor } from '../../src/graph-builder/core/tensor';
import { tensorData, TensorData, toNumbers } from '../../src/graph-builder/core/tensor-data';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { ModelSession } from '../../src/runtime/session';
import { NDArray, nd } from '../reference';

/** A test input: a reference array and the dtype it is fed as. */
export interface TypedInput {
  readonly dtype: DType;
  readonly value: NDArray;
}

export const f32 = (value: NDArray): TypedInput => ({ dtype: 'float32', value });
export const f64 = (value: NDArray): TypedInput => ({ dtype: 'float64', value });
export const i64 = (value: NDArray): TypedInput => ({ dtype: 'int64', value });
export const bool = (value: NDArray): TypedInput => ({ dtype: 'bool', value });

export function toTensorData({ dtype, value }: TypedInput): TensorData {
  const v = value.data;
  switch (dtype) {
    case 'float32':
      return tensorData(dtype, value.shape, Float32Array.from(v));
    case 'float64':
      return tensorData(dtype, value.shape, Float64Array.from(v));
    case 'int64':
      return tensorData(
        dtype,
        value.shape,
        BigInt64Array.from(v, (x) => BigInt(x)),
      );
    case 'int32':
      return tensorData(dtype, value.shape, Int32Array.from(v));
    case 'bool':
      return tensorData(dtype, value.shape, Uint8Array.from(v));
    default:
      throw new Error(`no test conversion for ${dtype}`);
  }
}

export const toNd = (t: TensorData): NDArray => nd(t.shape, toNumbers(t));

export interface TracedRun {
  /** What the builder inferred for each output. */
  readonly inferred: { dtype: DType; shape: readonly (number | string)[] }[];
  /** What onnxruntime computed. */
  readonly outputs: TensorData[];
}

/**
 * Traces `build` over graph inputs shaped like `inputs` (dims optionally renamed dynamic), runs the
 * model in onnxruntime-node and returns the builder's inferred types with ORT's outputs.
 */
export async function traceAndRun(
  inputs: Readonly<Record<string, TypedInput>>,
  build: (t: Record<string, Tensor>, g: Graph) => Tensor | Tensor[],
  dynamicDims: Readonly<Record<string, readonly (number | string)[]>> = {},
): Promise<TracedRun> {
  const g = new Graph('test');
  const tensors: Record<string, Tensor> = {};
  for (const [name, input] of Object.entries(inputs)) {
    tensors[name] = g.input(name, input.dtype, dynamicDims[name] ?? input.value.shape);
  }
  const built = build(tensors, g);
  const outs = Array.isArray(built) ? built : [built];
  outs.forEach((t, i) => g.output(`out${i}`, t));
  const session = await ModelSession.create(toModelProto(g, { paramsAs: 'inputs' }));
  const feeds: Record<string, TensorData> = {};
  for (const [name, input] of Object.entries(inputs)) feeds[name] = toTensorData(input);
  const result = await session.run(feeds);
  await session.release();
  return {
    inferred: outs.map((t) => ({ dtype: t.dtype, shape: t.shape })),
    outputs: outs.map((_, i) => result[`out${i}`]),
  };
}

/** Max |a-b| / (atol/rtol scaled) check with a readable failure. */
export function expectClose(actual: NDArray, expected: NDArray, { rtol = 1e-5, atol = 1e-6 } = {}): void {
  expect(actual.shape).toEqual(expected.shape);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const a = actual.data[i];
    const e = expected.data[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= worst)) {
      worst = Number.isNaN(excess) ? Infinity : excess;
      at = i;
    }
  }
  if (at >= 0) {
    throw new Error(
      `element ${at}: got ${actual.data[at]}, expected ${expected.data[at]} (rtol ${rtol}, atol ${atol})`,
    );
  }
}
