/**
 * The probes on synthetic tasks whose answer is known: separable classes reach ~100%, shuffled labels
 * stay near chance on held-out data, and the attentive probe finds a class signal hidden in one token
 * of a set where mean pooling washes it out.
 */
import { Rng } from '../../src/random/rng';
import { attentiveProbe, linearProbe } from '../../src/runtime/eval/probes';
import type { Samples } from '../../src/runtime/eval/probe-fit';
import { gaussianClusters } from '../helpers/clusters';

const CLASSES = 4;

/** Gaussian clusters as probe samples. [N, dim]. */
function clusters(
  n: number,
  dim: number,
  seed: number,
  separation: number,
  centres?: Float32Array,
): Samples & { centres: Float32Array } {
  const c = gaussianClusters(CLASSES, n, dim, seed, separation, centres);
  return { data: c.features, labels: c.labels, count: n, perSample: dim, centres: c.centres };
}

const options = { epochs: 9, batchSize: 32, seed: 0 };

test('linear probe: separable clusters reach ~100%', async () => {
  const train = clusters(512, 16, 1, 3);
  const test = clusters(256, 16, 2, 3, train.centres);
  const r = await linearProbe(train, test, { ...options, lr: 0.1 });
  expect(r.accuracy).toBeGreaterThan(0.97);
});

test('linear probe: shuffled labels stay near chance on held-out data', async () => {
  const train = clusters(512, 16, 1, 3);
  const test = clusters(400, 16, 2, 3, train.centres);
  const rng = new Rng(9);
  const shuffled = { ...train, labels: Int32Array.from(train.labels, () => rng.int(0, CLASSES - 1)) };
  const r = await linearProbe(shuffled, test, { ...options, lr: 0.1 });
  expect(Math.abs(r.accuracy - 1 / CLASSES)).toBeLessThan(0.1); // ~4.6 standard errors at n = 400
});

/** Sets of 6 tokens of dim 8: noise everywhere, the class signal in one random token per sample. */
function hiddenTokenSets(n: number, seed: number): Samples {
  const rng = new Rng(seed);
  const tokens = 6;
  const dim = 8;
  const labels = Int32Array.from({ length: n }, () => rng.int(0, CLASSES - 1));
  const data = new Float32Array(n * tokens * dim);
  for (let i = 0; i < n; i++) {
    const signal = rng.int(0, tokens - 1);
    for (let t = 0; t < tokens; t++) {
      for (let d = 0; d < dim; d++) data[(i * tokens + t) * dim + d] = rng.normal() * 0.5;
      if (t === signal) {
        data[(i * tokens + t) * dim + labels[i]] += 4; // one-hot of the class...
        data[(i * tokens + t) * dim + 7] += 4; // ...plus a marker the attention can key on
      }
    }
  }
  return { data, labels, count: n, perSample: tokens * dim };
}

test('attentive probe: finds the token that carries the class (~100%)', async () => {
  const train = hiddenTokenSets(512, 3);
  const test = hiddenTokenSets(256, 4);
  const r = await attentiveProbe(
    train,
    test,
    { tokens: 6, dim: 8, heads: 2 },
    { epochs: 18, batchSize: 32, seed: 0, lr: 0.05 },
  );
  expect(r.accuracy).toBeGreaterThan(0.95);
});
