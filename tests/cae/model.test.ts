import { initializeParams } from '../../src/artifacts/initialize-params';
import { resolveConfig } from '../../src/graph-builder/cae/config';
import {
  buildEncoderGraph,
  caeParams,
  caePretrainModel,
  CAE_INPUTS,
} from '../../src/graph-builder/cae/model';
import { sincosTable } from '../../src/graph-builder/cae/sincos';
import { tensorData } from '../../src/graph-builder/core/tensor-data';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { buildEvalStep } from '../../src/graph-builder/training/step-graphs';
import { Rng } from '../../src/random/rng';
import { maskFeeds } from '../helpers/small-cae';
import { ModelSession } from '../../src/runtime/session';

const trainableCount = (params: ReturnType<typeof caeParams>, prefix = '') =>
  params
    .filter((p) => p.trainable && p.name.startsWith(prefix))
    .reduce((s, p) => s + p.tensor.shape.reduce<number>((a, d) => a * (d as number), 1), 0);

describe('parameter counts equal the reference', () => {
  test('CAE-B with the 8192-way token head: 148,681,472', () => {
    const params = caeParams(resolveConfig('cae-base', { target: 'tokens', vocabSize: 8192, batch: 1 }));
    expect(trainableCount(params)).toBe(148_681_472);
    expect(trainableCount(params, 'encoder.')).toBe(85_656_576);
    expect(trainableCount(params, 'regresser.')).toBe(28_368_384);
    expect(trainableCount(params, 'decoder.')).toBe(34_655_744);
    expect(trainableCount(params, 'decoder.head.')).toBe(6_299_648);
    expect(trainableCount(params, 'mask_token')).toBe(768);
  });

  test('CAE-S with decoder dim 384: 38,955,392; with 768: 84,916,736', () => {
    const s384 = caeParams(resolveConfig('cae-small', { target: 'tokens', decoderEmbedDim: 384, batch: 1 }));
    expect(trainableCount(s384)).toBe(38_955_392);
    const s768 = caeParams(resolveConfig('cae-small', { target: 'tokens', decoderEmbedDim: 768, batch: 1 }));
    expect(trainableCount(s768)).toBe(84_916_736);
    expect(s768.map((p) => p.name)).toContain('encoder_to_regresser.weight');
    expect(s768.map((p) => p.name)).toContain('encoder_to_regresser_norm.bias');
  });
});

describe('sin-cos positions', () => {
  test('row r, column c gets [sin(r w), cos(r w), sin(c w), cos(c w)]', () => {
    const t = sincosTable(14, 8);
    const at = (n: number, k: number) => t.data[n * 8 + k];
    const w = [1, 1 / 100]; // 1/10000^(k/2), k = 0, 1
    const n = 3 * 14 + 5; // row 3, column 5
    expect(at(n, 0)).toBeCloseTo(Math.sin(3 * w[0]), 6);
    expect(at(n, 1)).toBeCloseTo(Math.sin(3 * w[1]), 6);
    expect(at(n, 2)).toBeCloseTo(Math.cos(3 * w[0]), 6);
    expect(at(n, 4)).toBeCloseTo(Math.sin(5 * w[0]), 6);
    expect(at(n, 7)).toBeCloseTo(Math.cos(5 * w[1]), 6);
    expect(Array.from(t.data.slice(0, 8))).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
  });
});

const tiny = resolveConfig('cae-tiny-28', { batch: 3 });

function batchFeeds(seed: number, c = tiny) {
  const rng = new Rng(seed);
  const masks = maskFeeds(rng, c);
  const n = c.batch * c.inChans * c.imageSize * c.imageSize;
  return {
    [CAE_INPUTS.images]: tensorData(
      'float32',
      [c.batch, c.inChans, c.imageSize, c.imageSize],
      Float32Array.from({ length: n }, () => rng.normal()),
    ),
    ...masks,
  };
}

test('cae-tiny-28 eval_step runs in onnxruntime-node with finite losses', async () => {
  const params = initializeParams(caeParams(tiny), 0);
  const session = await ModelSession.create(
    toModelProto(buildEvalStep(caePretrainModel(tiny)), { paramsAs: 'inputs' }),
  );
  const out = await session.run({ ...batchFeeds(1), ...Object.fromEntries(params) });
  const [loss, rec, align] = ['loss', 'loss_rec', 'loss_align'].map((k) => Number(out[k].data[0]));
  expect(Number.isFinite(loss)).toBe(true);
  expect(loss).toBeCloseTo(rec + 2 * align, 5);
  expect(rec).toBeGreaterThan(0.5); // normalized pixel targets: ~1 at initialization
});

test('encoder.onnx (dynamic batch, embedded weights) equals the training encoder on the same weights', async () => {
  const params = initializeParams(caeParams(tiny), 3);
  const deploy = await ModelSession.create(
    toModelProto(buildEncoderGraph(tiny), { paramsAs: 'initializers', paramValues: params }),
  );
  // The training graph's encoder, fed every patch as visible.
  const { Graph } = await import('../../src/graph-builder/core/graph');
  const { caeEncoder } = await import('../../src/graph-builder/cae/encoder');
  const g = new Graph();
  const images = g.input('images', 'float32', [2, 1, 28, 28]);
  const visible = g.input('visible_index', 'int64', [2, 49]);
  g.output(
    'tokens',
    g.withScope('encoder', () => caeEncoder(tiny, images, visible)),
  );
  const training = await ModelSession.create(toModelProto(g, { paramsAs: 'inputs' }));
  const rng = new Rng(4);
  const imgs = tensorData(
    'float32',
    [2, 1, 28, 28],
    Float32Array.from({ length: 2 * 784 }, () => rng.normal()),
  );
  const all = tensorData(
    'int64',
    [2, 49],
    BigInt64Array.from({ length: 98 }, (_, i) => BigInt(i % 49)),
  );
  const a = await deploy.run({ images: imgs });
  const b = await training.run({
    images: imgs,
    visible_index: all,
    ...Object.fromEntries([...params].filter(([k]) => k.startsWith('encoder.'))),
  });
  expect(a.tokens.shape).toEqual([2, 50, 64]);
  const x = a.tokens.data as Float32Array;
  const y = b.tokens.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  expect(worst).toBeLessThan(1e-5);
  // A different batch size runs through the same deployed model.
  const one = await deploy.run({
    images: tensorData('float32', [1, 1, 28, 28], imgs.data.slice(0, 784) as Float32Array),
  });
  expect(one.tokens.shape).toEqual([1, 50, 64]);
  expect(Array.from((one.tokens.data as Float32Array).slice(0, 64))).toEqual(Array.from(x.slice(0, 64)));
});
