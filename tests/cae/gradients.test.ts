/**
 * Numerical check of the CAE losses' gradients on a small cae-tiny-28: grad_step's gradient of a few
 * sampled elements of every parameter tensor against central differences of eval_step, both in
 * onnxruntime-node. float32 throughout (ORT has no float64 Erf): with eps 1e-2 on a loss of O(1),
 * rounding contributes ~1e-5 and truncation ~1e-4, hence the 2e-3 + 2% tolerance. The exact
 * comparison (1e-6) is against PyTorch in bench/cae-vs-torch.ts.
 *
 * Central differences see through the stop-gradient on the alignment target (perturbing an encoder
 * weight moves the target too), so with the alignment loss on, parameters that feed the target
 * (encoder.*, encoder_to_regresser*) are checked in the run with lambda = 0 instead.
 */
import { initializeParams } from '../../src/artifacts/initialize-params';
import { caeParams, caePretrainModel, CAE_INPUTS } from '../../src/graph-builder/cae/model';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { buildEvalStep, buildGradStep, gradOutputName } from '../../src/graph-builder/training/step-graphs';
import { Rng } from '../../src/random/rng';
import { ModelSession } from '../../src/runtime/session';
import { maskFeeds, smallCaeConfig } from '../helpers/small-cae';

const FEEDS_TARGET = /^(encoder\.|encoder_to_regresser)/;

test.each([
  ['pixel targets, norm-pix, 32 -> 48 projection', { decoderEmbedDim: 48, decoderNumHeads: 2 }, FEEDS_TARGET],
  [
    'pixels without the alignment loss, all parameters',
    { decoderEmbedDim: 48, decoderNumHeads: 2, alignWeight: 0 },
    undefined,
  ],
  ['token targets', { target: 'tokens' as const, vocabSize: 10 }, FEEDS_TARGET],
  [
    'a learned position table (imported ViTs), all parameters',
    { learnedPositions: true, alignWeight: 0 },
    undefined,
  ],
  [
    'tokens without the alignment loss, all parameters',
    { target: 'tokens' as const, vocabSize: 10, alignWeight: 0 },
    undefined,
  ],
])('CAE gradients match central differences: %s', async (_name, overrides, skip) => {
  const c = smallCaeConfig({ batch: 2, depth: 1, ...overrides });
  const rng = new Rng(5);
  const params = initializeParams(caeParams(c), 1);
  for (const [, t] of params) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] += 0.05 * rng.normal(); // no parameter sits at a special value
  }
  const masks = maskFeeds(rng, c);
  const feeds: Record<string, TensorData> = {
    [CAE_INPUTS.images]: tensorData(
      'float32',
      [2, 1, 28, 28],
      Float32Array.from({ length: 2 * 784 }, () => rng.normal()),
    ),
    ...masks,
  };
  if (c.target === 'tokens') {
    feeds[CAE_INPUTS.targetTokens] = tensorData(
      'int64',
      [2, c.numMasked],
      BigInt64Array.from({ length: 2 * c.numMasked }, () => BigInt(rng.int(0, 9))),
    );
  }
  const model = caePretrainModel(c);
  const gradSession = await ModelSession.create(toModelProto(buildGradStep(model), { paramsAs: 'inputs' }));
  const evalSession = await ModelSession.create(toModelProto(buildEvalStep(model), { paramsAs: 'inputs' }));
  const analytic = await gradSession.run({ ...feeds, ...Object.fromEntries(params) });
  const lossWith = async (name: string, i: number, delta: number) => {
    const t = params.get(name)!;
    const data = (t.data as Float32Array).slice();
    data[i] += delta;
    const out = await evalSession.run(
      { ...feeds, ...Object.fromEntries(params), [name]: tensorData('float32', t.shape, data) },
      ['loss'],
    );
    return Number(out.loss.data[0]);
  };
  const eps = 1e-2;
  const failures: string[] = [];
  let checked = 0;
  for (const [name, t] of params) {
    if (skip?.test(name)) continue;
    const g = analytic[gradOutputName(name)].data as Float32Array;
    for (let k = 0; k < 2; k++) {
      const i = rng.int(0, t.data.length - 1);
      const numeric = ((await lossWith(name, i, eps)) - (await lossWith(name, i, -eps))) / (2 * eps);
      checked++;
      if (Math.abs(g[i] - numeric) > 2e-3 + 0.02 * Math.abs(numeric))
        failures.push(`${name}[${i}]: ${g[i]} vs ${numeric}`);
    }
  }
  expect(checked).toBeGreaterThan(40);
  expect(failures).toEqual([]);
});
