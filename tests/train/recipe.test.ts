/** Library users get `cae-onnx train`'s defaults from pretrainingRunOptions, and can override them. */
import { pretrainingRunOptions } from '../../src/runtime/train/pretraining-request';
import { smallBuild } from '../helpers/small-cae';

const build = smallBuild({ batch: 8 });

test("defaults: 1000 steps, the tiny preset's lr, 5% warmup, mild crops, no flips for digits", () => {
  const r = pretrainingRunOptions({ buildDir: build, data: { kind: 'mnist', split: 'train' } });
  expect(r.steps).toBe(1000);
  expect(r.schedule).toEqual({ baseLr: 1e-3, minLr: 1e-5, warmupSteps: 50, totalSteps: 1000 });
  expect(r.augment).toEqual({ scale: [0.35, 1], ratio: [3 / 4, 4 / 3], flip: false });
  expect([r.seed, r.accumulate, r.checkpointEvery, r.alignmentDropPath]).toEqual([0, 1, 200, true]);
});

test('overrides win; image folders flip by default; augment false turns crops off', () => {
  const r = pretrainingRunOptions({
    buildDir: build,
    data: { kind: 'folder', dir: '/photos' },
    steps: 40,
    lr: 5e-4,
    augment: { scale: [0.5, 1] },
  });
  expect(r.schedule).toEqual({ baseLr: 5e-4, minLr: 1e-5, warmupSteps: 2, totalSteps: 40 });
  expect(r.augment).toEqual({ scale: [0.5, 1], ratio: [3 / 4, 4 / 3], flip: true });
  expect(
    pretrainingRunOptions({ buildDir: build, data: { kind: 'mnist', split: 'train' }, augment: false })
      .augment,
  ).toBe(false);
});
