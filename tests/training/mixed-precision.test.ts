/**
 * fp16 mixed precision: float16 matmuls with float32 master weights and dynamic loss scaling. Training
 * still converges like fp32, and the loss-scale rule (skip on overflow, halve, grow) holds.
 */
import { initializeParams } from '../../src/artifacts/initialize-params';
import { nodeMatmulFlops } from '../../src/graph-builder/analysis/flops';
import { caePretrainModel, CAE_INPUTS } from '../../src/graph-builder/cae/model';
import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../../src/graph-builder/optim/adamw';
import { buildTrainStep, LOSS_SCALE_STATE } from '../../src/graph-builder/training/step-graphs';
import { Rng } from '../../src/random/rng';
import { StepSession, stepScalars } from '../../src/runtime/train/step-session';
import { maskFeeds, smallCaeConfig } from '../helpers/small-cae';

const config = (precision: 'fp32' | 'fp16') => smallCaeConfig({ precision, dropPathRate: 0, batch: 16 });

function batchFeeds(seed: number): Record<string, TensorData> {
  const c = config('fp32');
  const rng = new Rng(seed);
  const masks = maskFeeds(rng, c);
  // Smooth images (a blob per image) so the reconstruction has something to learn.
  const images = new Float32Array(c.batch * 28 * 28);
  for (let b = 0; b < c.batch; b++) {
    const cx = rng.uniform() * 28;
    const cy = rng.uniform() * 28;
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++)
        images[b * 784 + y * 28 + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 40) * 2 - 1;
  }
  return {
    [CAE_INPUTS.images]: tensorData('float32', [c.batch, 1, 28, 28], images),
    ...masks,
  };
}

async function session(precision: 'fp32' | 'fp16', extraState: [string, number][] = []) {
  const c = config(precision);
  const model = caePretrainModel(c);
  const probe = new Graph();
  model(probe);
  const graph = buildTrainStep(model, {
    optimizer: adamw(),
    clipGradNorm: 3,
    lossScaling: precision === 'fp16',
  });
  const initial = initializeParams(probe.params, 0);
  for (const [name, v] of extraState) initial.set(name, tensorData('float32', [], Float32Array.of(v)));
  return { graph, s: await StepSession.create(toModelProto(graph, { paramsAs: 'inputs' }), initial) };
}

const scalar = (t: TensorData) => Number(t.data[0]);

test('fp16 graphs run their matmuls in float16 and keep float32 master weights', async () => {
  const { graph } = await session('fp16');
  // Everything but the patch embedding (a float32 Conv, whose weight gradient is one Gemm).
  let half = 0;
  let total = 0;
  for (const n of graph.nodes) {
    const flops = nodeMatmulFlops(n);
    total += flops;
    if (n.inputs[0]?.dtype === 'float16') half += flops;
  }
  expect(half / total).toBeGreaterThan(0.9);
  for (const p of graph.params) expect(p.tensor.dtype).toBe('float32');
});

test('fp16 mixed precision converges like fp32 on the same batches', async () => {
  const losses: Record<string, number[]> = {};
  for (const precision of ['fp32', 'fp16'] as const) {
    const { s } = await session(precision);
    losses[precision] = [];
    for (let step = 1; step <= 60; step++) {
      const out = await s.run({ ...batchFeeds(step % 4), ...stepScalars(2e-3, step) });
      losses[precision].push(scalar(out.loss));
      if (precision === 'fp16') expect(scalar(out.loss_scale)).toBe(2 ** 16);
    }
    await s.release();
  }
  const tail = (v: number[]) => v.slice(-8).reduce((a, b) => a + b, 0) / 8;
  expect(tail(losses.fp16)).toBeLessThan(0.6 * losses.fp16[0]);
  expect(Math.abs(tail(losses.fp16) - tail(losses.fp32)) / tail(losses.fp32)).toBeLessThan(0.05);
}, 120_000);

test('an overflowing step is skipped and halves the loss scale', async () => {
  // 2^(16 + 120) overflows float32: the scaled gradients are inf/NaN.
  const { s } = await session('fp16', [[LOSS_SCALE_STATE.log2, 120]]);
  const before = new Map(s.state);
  const out = await s.run({ ...batchFeeds(0), ...stepScalars(1e-3, 1) });
  expect(Number.isFinite(scalar(out.loss))).toBe(true);
  expect(scalar(s.state.get(LOSS_SCALE_STATE.log2)!)).toBe(119);
  expect(scalar(s.state.get(LOSS_SCALE_STATE.goodSteps)!)).toBe(0);
  for (const [name, t] of before) {
    if (name.startsWith('amp.')) continue;
    expect(Buffer.from(s.state.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer))).toBe(true);
  }
  await s.release();
});

test('finite steps count up and the scale doubles after 2000 of them', async () => {
  const { s } = await session('fp16', [[LOSS_SCALE_STATE.goodSteps, 1998]]);
  const weight = 'encoder.blocks.0.mlp.fc1.weight';
  const before = s.state.get(weight)!.data.slice();
  await s.run({ ...batchFeeds(0), ...stepScalars(1e-3, 1) });
  expect(s.state.get(weight)!.data).not.toEqual(before);
  expect(scalar(s.state.get(LOSS_SCALE_STATE.goodSteps)!)).toBe(1999);
  expect(scalar(s.state.get(LOSS_SCALE_STATE.log2)!)).toBe(0);
  await s.run({ ...batchFeeds(1), ...stepScalars(1e-3, 2) });
  expect(scalar(s.state.get(LOSS_SCALE_STATE.goodSteps)!)).toBe(0);
  expect(scalar(s.state.get(LOSS_SCALE_STATE.log2)!)).toBe(1);
  await s.release();
});
