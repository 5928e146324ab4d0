import { Rng } from '../../src/random/rng';
import { RANDOM_ERASING_DEFAULTS, randomErase } from '../../src/runtime/data/random-erasing';
import { sampleRng } from '../../src/runtime/data/order';

const SHAPE = [3, 32, 32] as const;
const fresh = () => new Float32Array(3 * 32 * 32).fill(7);

test('about a quarter of the samples are erased, each with one box of 2%-33% of the image', () => {
  let erased = 0;
  for (let i = 0; i < 2000; i++) {
    const img = fresh();
    const box = randomErase(sampleRng(1, 0, i), img, SHAPE);
    if (!box) {
      expect(img.every((v) => v === 7)).toBe(true);
      continue;
    }
    erased++;
    const frac = (box.height * box.width) / (32 * 32);
    expect(frac).toBeGreaterThan(0.01); // rounding can take it a little under 2%
    expect(frac).toBeLessThan(0.36);
    // Exactly the box changed, on every channel, to noise.
    let changed = 0;
    img.forEach((v) => (changed += v === 7 ? 0 : 1));
    expect(changed).toBe(3 * box.height * box.width);
  }
  expect(Math.abs(erased / 2000 - RANDOM_ERASING_DEFAULTS.prob)).toBeLessThan(0.03);
});

test('the same generator erases the same box with the same noise', () => {
  const a = fresh();
  const b = fresh();
  const ba = randomErase(new Rng(9), a, SHAPE, { ...RANDOM_ERASING_DEFAULTS, prob: 1 });
  const bb = randomErase(new Rng(9), b, SHAPE, { ...RANDOM_ERASING_DEFAULTS, prob: 1 });
  expect(bb).toEqual(ba);
  expect(b).toEqual(a);
});
