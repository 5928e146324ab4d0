import { grad } from '../../src/graph-builder/autodiff';
import { Graph } from '../../src/graph-builder/core/graph';
import { Tensor } from '../../src/graph-builder/core/tensor';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { ModelSession } from '../../src/runtime/session';
import { randomNd, seededRandom } from '../reference';
import { toTensorData, TypedInput } from './ort-run';

export interface GradCheckCase {
  readonly inputs: Readonly<Record<string, TypedInput>>;
  /** Inputs to differentiate (default: every float input). */
  readonly wrt?: readonly string[];
  readonly build: (t: Record<string, Tensor>) => Tensor;
  /** Central-difference step; tolerances on |analytic - numeric| <= atol + rtol * |numeric|. */
  readonly eps?: number;
  readonly rtol?: number;
  readonly atol?: number;
}

export interface GradCheckResult {
  readonly analytic: Record<string, Float64Array>;
  readonly numeric: Record<string, Float64Array>;
  /** Worst (|a - n| - atol - rtol * |n|) over all elements; <= 0 passes. */
  readonly worstExcess: number;
  readonly worstAt: string;
}

const FLOAT64_DEFAULTS = { eps: 1e-6, rtol: 1e-6, atol: 1e-8 };
/**
 * float32 (for ops ORT has no float64 kernel for): with eps 3e-3 and O(1) losses, rounding in the
 * loss (~1e-7) contributes ~3e-5 and truncation (eps^2 f'''/6) ~2e-6 to the central difference, so
 * 1e-3 bounds the error with a 30x margin while still catching any wrong rule.
 */
const FLOAT32_DEFAULTS = { eps: 3e-3, rtol: 1e-3, atol: 1e-3 };

/**
 * Checks the emitted backward graph against central differences of the forward graph, both run in
 * onnxruntime-node. The scalar loss is sum(build(inputs) * R) with a fixed random R, so every output
 * element is weighted differently.
 */
export async function gradCheck(c: GradCheckCase): Promise<GradCheckResult> {
  const g = new Graph('gradcheck');
  const t: Record<string, Tensor> = {};
  for (const [name, input] of Object.entries(c.inputs))
    t[name] = g.input(name, input.dtype, input.value.shape);
  const wrt =
    c.wrt ?? Object.keys(c.inputs).filter((k) => ['float32', 'float64'].includes(c.inputs[k].dtype));
  const out = c.build(t);
  const weights = randomNd(out.shape as number[], seededRandom(99), -1, 1);
  const r = g.constant(toTensorData({ dtype: out.dtype, value: weights }), 'weights');
  const loss = op.reduceSum(op.mul(out, r));
  g.output('loss', loss);
  grad(
    loss,
    wrt.map((k) => t[k]),
  ).forEach((d, i) => g.output(`grad.${wrt[i]}`, d));
  const session = await ModelSession.create(toModelProto(g, { paramsAs: 'inputs' }));
  const feeds: Record<string, TensorData> = {};
  for (const [name, input] of Object.entries(c.inputs)) feeds[name] = toTensorData(input);
  const base = await session.run(feeds);
  const dtype = out.dtype === 'float64' ? 'float64' : 'float32';
  const defaults = dtype === 'float64' ? FLOAT64_DEFAULTS : FLOAT32_DEFAULTS;
  const { eps, rtol, atol } = { ...defaults, ...c };

  const lossAt = async (name: string, i: number, delta: number) => {
    const original = feeds[name];
    const data = original.data.slice() as Float32Array | Float64Array;
    data[i] += delta;
    const result = await session.run({ ...feeds, [name]: tensorData(original.dtype, original.shape, data) }, [
      'loss',
    ]);
    return Number(result.loss.data[0]);
  };

  const analytic: Record<string, Float64Array> = {};
  const numeric: Record<string, Float64Array> = {};
  let worstExcess = -Infinity;
  let worstAt = '';
  for (const name of wrt) {
    const n = feeds[name].data.length;
    analytic[name] = Float64Array.from(base[`grad.${name}`].data as Float32Array | Float64Array);
    numeric[name] = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      numeric[name][i] = ((await lossAt(name, i, eps)) - (await lossAt(name, i, -eps))) / (2 * eps);
      const excess =
        Math.abs(analytic[name][i] - numeric[name][i]) - atol - rtol * Math.abs(numeric[name][i]);
      if (!(excess <= worstExcess)) {
        worstExcess = Number.isNaN(excess) ? Infinity : excess;
        worstAt = `${name}[${i}]: analytic ${analytic[name][i]}, numeric ${numeric[name][i]}`;
      }
    }
  }
  await session.release();
  return { analytic, numeric, worstExcess, worstAt };
}
