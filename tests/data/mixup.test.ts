import { Rng } from '../../src/random/rng';
import { MIXUP_DEFAULTS, mixBatch, sampleBeta } from '../../src/runtime/data/mixup';
import { stepRng } from '../../src/runtime/train/step-inputs';

const B = 4;
const SHAPE = [B, 2, 8, 6] as const;
const images = Float32Array.from({ length: B * 2 * 8 * 6 }, (_, i) => Math.sin(i) + i / 100);
const labels = [0, 3, 1, 2];
const cfg = { ...MIXUP_DEFAULTS, classes: 5 };

test.each([
  [0.8, 0.5, (0.8 * 0.8) / (1.6 ** 2 * 2.6)],
  [1.0, 0.5, 1 / 12],
])('Beta(%f, %f) draws have the right mean and variance', (a, mean, variance) => {
  const rng = new Rng(7);
  const xs = Array.from({ length: 20000 }, () => sampleBeta(rng, a, a));
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
  expect(Math.abs(m - mean)).toBeLessThan(0.01);
  expect(Math.abs(v - variance)).toBeLessThan(0.005);
  expect(xs.every((x) => x > 0 && x < 1)).toBe(true);
});

test('the same (seed, step) mixes the same way; another step does not', () => {
  const a = mixBatch(stepRng(3, 10), images, SHAPE, labels, cfg);
  const b = mixBatch(stepRng(3, 10), images, SHAPE, labels, cfg);
  expect(b.images).toEqual(a.images);
  expect(b.targets).toEqual(a.targets);
  const draws = Array.from(
    { length: 8 },
    (_, s) => mixBatch(stepRng(3, 11 + s), images, SHAPE, labels, cfg).lambda,
  );
  expect(draws.some((l) => l !== a.lambda)).toBe(true);
});

/** Finds a step whose batch is mixed the given way. */
function mixedBy(kind: 'mixup' | 'cutmix') {
  for (let step = 1; step < 100; step++) {
    const m = mixBatch(stepRng(1, step), images, SHAPE, labels, cfg);
    if (m.kind === kind) return m;
  }
  throw new Error(`no ${kind} batch in 100 steps`);
}

function expectTargets(targets: Float32Array, lambda: number): void {
  const off = cfg.labelSmoothing / cfg.classes;
  const on = 1 - cfg.labelSmoothing + off;
  for (let i = 0; i < B; i++) {
    const row = Array.from(targets.subarray(i * cfg.classes, (i + 1) * cfg.classes));
    expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    const want = row.map(() => off);
    want[labels[i]] += (on - off) * lambda;
    want[labels[B - 1 - i]] += (on - off) * (1 - lambda);
    row.forEach((v, k) => expect(v).toBeCloseTo(want[k], 6));
  }
}

test('mixup: each image is lambda x itself + (1 - lambda) x its mirror in the batch', () => {
  const m = mixedBy('mixup');
  const per = images.length / B;
  for (let i = 0; i < B; i++)
    for (let k = 0; k < per; k++)
      expect(m.images[i * per + k]).toBeCloseTo(
        m.lambda * images[i * per + k] + (1 - m.lambda) * images[(B - 1 - i) * per + k],
        5,
      );
  expectTargets(m.targets, m.lambda);
});

test("cutmix: a box from the mirror image is pasted, and lambda is the area left of the image's own", () => {
  const m = mixedBy('cutmix');
  const per = images.length / B;
  const plane = 8 * 6;
  let pasted = 0;
  for (let k = 0; k < plane; k++) {
    const fromMirror = m.images[k] === images[(B - 1) * per + k] && m.images[k] !== images[k];
    if (fromMirror) pasted++;
    else expect(m.images[k]).toBe(images[k]);
  }
  expect(pasted / plane).toBeCloseTo(1 - m.lambda, 6);
  expectTargets(m.targets, m.lambda);
});

test('no mixing (prob 0): the images are unchanged and the targets are smoothed one-hot', () => {
  const m = mixBatch(stepRng(1, 1), images, SHAPE, labels, { ...cfg, prob: 0 });
  expect(m.kind).toBe('none');
  expect(m.images).toEqual(images);
  expectTargets(m.targets, 1);
});
