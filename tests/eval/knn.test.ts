/**
 * The weighted k-NN classifier on synthetic data whose answer is known, against a brute-force
 * reference (all similarities sorted, in float64), and on neighbours only float64 can order.
 */
import { Rng } from '../../src/random/rng';
import { knnClassify, KnnSamples } from '../../src/runtime/eval/knn';
import { gaussianClusters } from '../helpers/clusters';

const CLASSES = 5;

const clusters = (n: number, dim: number, seed: number, separation: number, centres?: Float32Array) =>
  gaussianClusters(CLASSES, n, dim, seed, separation, centres);

/** The definition: every similarity, sorted (ties: earlier training row first), weighted votes. */
function bruteForce(train: KnnSamples, test: KnnSamples, k: number, t: number, classes: number): Int32Array {
  const unit = (s: KnnSamples, i: number): number[] => {
    const v = Array.from(s.features.subarray(i * s.dim, (i + 1) * s.dim));
    const norm = Math.max(Math.sqrt(v.reduce((a, x) => a + x * x, 0)), 1e-12);
    return v.map((x) => x / norm);
  };
  const trainUnit = Array.from(train.labels, (_, j) => unit(train, j));
  return Int32Array.from(test.labels, (_, i) => {
    const q = unit(test, i);
    const sims = trainUnit
      .map((v, j) => ({ j, sim: v.reduce((a, x, d) => a + x * q[d], 0) }))
      .filter(({ j }) => train.labels[j] >= 0)
      .sort((a, b) => b.sim - a.sim || a.j - b.j)
      .slice(0, k);
    const votes = new Array<number>(classes).fill(0);
    for (const { j, sim } of sims) votes[train.labels[j]] += Math.exp(sim / t);
    return votes.indexOf(Math.max(...votes));
  });
}

test('well-separated clusters are classified (almost) perfectly', async () => {
  const train = clusters(2000, 16, 1, 3);
  const test = clusters(500, 16, 2, 3, train.centres);
  const r = await knnClassify(train, test);
  expect(r.predictions).toHaveLength(500);
  expect(r.labeled).toBe(500);
  expect(r.accuracy).toBeGreaterThan(0.99);
});

test('shuffled training labels stay near chance', async () => {
  const train = clusters(2000, 16, 1, 3);
  const test = clusters(1000, 16, 2, 3, train.centres);
  const rng = new Rng(9);
  const shuffled = { ...train, labels: Int32Array.from(train.labels, () => rng.int(0, CLASSES - 1)) };
  const r = await knnClassify(shuffled, test);
  const se = Math.sqrt(((1 / CLASSES) * (1 - 1 / CLASSES)) / 1000); // ~0.013
  expect(Math.abs(r.accuracy - 1 / CLASSES)).toBeLessThan(4 * se);
});

test('k = 1 on the training set itself is 100% (each sample finds itself)', async () => {
  const train = clusters(777, 16, 3, 0.5); // overlapping clusters: only the sample itself tells
  const r = await knnClassify(train, train, { k: 1 });
  expect(r.accuracy).toBe(1);
  expect(Array.from(r.predictions)).toEqual(Array.from(train.labels));
});

test('the temperature decides between one close neighbour and two farther ones', async () => {
  // query (1, 0); class 0: one neighbour at cosine 0.99; class 1: two neighbours at cosine 0.8
  const s = Math.sqrt(1 - 0.99 * 0.99);
  const train: KnnSamples = {
    features: Float32Array.from([0.99, s, 0.8, 0.6, 0.8, -0.6, -1, 0]),
    labels: Int32Array.from([0, 1, 1, 0]),
    dim: 2,
  };
  const test: KnnSamples = { features: Float32Array.from([2, 0]), labels: Int32Array.from([0]), dim: 2 };
  // sharp weights: exp(0.99 / 0.07) > 2 exp(0.8 / 0.07), the close neighbour wins
  expect(Array.from((await knnClassify(train, test, { k: 3, temperature: 0.07 })).predictions)).toEqual([0]);
  // flat weights: a plain majority of the 3 nearest
  expect(Array.from((await knnClassify(train, test, { k: 3, temperature: 100 })).predictions)).toEqual([1]);
});

test('matches the brute-force definition, over more than one chunk of test rows', async () => {
  const dim = 37;
  const classes = 7;
  const rng = new Rng(5);
  const make = (n: number): KnnSamples => ({
    features: Float32Array.from({ length: n * dim }, () => rng.normal()),
    labels: Int32Array.from({ length: n }, () => rng.int(-1, classes - 1)), // some unlabeled
    dim,
  });
  const train = make(1234);
  const test = make(300); // the similarities are computed 256 test rows at a time
  for (const [k, temperature] of [
    [1, 0.07],
    [5, 0.07],
    [20, 0.5],
  ]) {
    const r = await knnClassify(train, test, { k, temperature, numClasses: classes });
    expect(Array.from(r.predictions)).toEqual(Array.from(bruteForce(train, test, k, temperature, classes)));
    const labeled = Array.from(test.labels).filter((l) => l >= 0).length;
    const correct = Array.from(test.labels).filter((l, i) => l >= 0 && l === r.predictions[i]).length;
    expect(r.labeled).toBe(labeled);
    expect(r.accuracy).toBeCloseTo(correct / labeled, 12);
  }
});

test('neighbours are ranked in float64 where float32 cannot tell them apart; exact ties go to the earlier row', async () => {
  const dim = 8;
  const row = (...v: number[]) => [...v, ...new Array<number>(dim - v.length).fill(0)];
  const train: KnnSamples = {
    // Cosine to the query e0: 1 - 2e-8 (label 1) and 1 - 5e-9 (label 0): both 1 in float32.
    // Then two identical rows (labels 2, 3) along e1.
    features: Float32Array.from([...row(1, 2e-4), ...row(1, 1e-4), ...row(0, 1), ...row(0, 1)]),
    labels: Int32Array.from([1, 0, 2, 3]),
    dim,
  };
  const test: KnnSamples = {
    features: Float32Array.from([...row(1), ...row(0, 1)]),
    labels: Int32Array.from([0, 2]),
    dim,
  };
  const r = await knnClassify(train, test, { k: 1 });
  expect(Array.from(r.predictions)).toEqual([0, 2]);
});

test('unlabeled training samples do not vote; k is capped at the labeled training samples', async () => {
  const train: KnnSamples = {
    features: Float32Array.from([1, 0, 0.9, 0.1, -1, 0]),
    labels: Int32Array.from([-1, 2, 0]),
    dim: 2,
  };
  const test: KnnSamples = {
    features: Float32Array.from([1, 0, -1, 0.1]),
    labels: Int32Array.from([2, -1]),
    dim: 2,
  };
  const r = await knnClassify(train, test, { k: 1 });
  expect(Array.from(r.predictions)).toEqual([2, 0]);
  expect(r.accuracy).toBe(1);
  expect(r.labeled).toBe(1);
  expect((await knnClassify(train, test, { k: 50 })).predictions).toHaveLength(2);
});

test('bad inputs are refused', async () => {
  const a: KnnSamples = { features: new Float32Array(8), labels: new Int32Array(2), dim: 4 };
  await expect(knnClassify(a, { ...a, dim: 2, labels: new Int32Array(4) })).rejects.toThrow(/dim/);
  await expect(knnClassify(a, { ...a, labels: new Int32Array(3) })).rejects.toThrow(/do not make 3 samples/);
  await expect(knnClassify({ ...a, labels: Int32Array.from([-1, -1]) }, a)).rejects.toThrow(/no labeled/);
  await expect(knnClassify({ ...a, labels: Int32Array.from([0, 4]) }, a, { numClasses: 3 })).rejects.toThrow(
    /numClasses/,
  );
  await expect(knnClassify(a, a, { k: 0 })).rejects.toThrow(/k must be/);
  await expect(knnClassify(a, a, { temperature: 0 })).rejects.toThrow(/temperature/);
});
