/**
 * Numerical check of the CAE losses' gradients on a small cae-tiny-28: grad_step's gradient of a few
 * sampled elements of every parameter tensor against central differences of eval_step
 * (tests/helpers/param-grad-check.ts; float32, since ORT has no float64 Erf). The exact comparison
 * (1e-6) is against PyTorch in bench/cae-vs-torch.ts.
 *
 * Central differences see through the stop-gradient on the alignment target (perturbing an encoder
 * weight moves the target too), so with the alignment loss on, parameters that feed the target
 * (encoder.*, encoder_to_regresser*) are checked in the run with lambda = 0 instead.
 */
import { initializeParams } from '../../src/artifacts/initialize-params';
import { caeParams, caePretrainModel, CAE_INPUTS } from '../../src/graph-builder/cae/model';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { Rng } from '../../src/random/rng';
import { checkParamGradients } from '../helpers/param-grad-check';
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
  const { failures, checked } = await checkParamGradients(caePretrainModel(c), params, feeds, rng, { skip });
  expect(checked).toBeGreaterThan(40);
  expect(failures).toEqual([]);
});
