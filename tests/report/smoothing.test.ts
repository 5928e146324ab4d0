import { gaussianSmooth, smoothingSigma } from '../../src/runtime/report/smoothing';

test('the centred window does not lag: a straight line comes back unchanged away from the ends', () => {
  const ramp = Array.from({ length: 200 }, (_, i) => 10 - 0.04 * i);
  const smooth = gaussianSmooth(ramp, 5);
  for (let i = 15; i < 185; i++) expect(smooth[i]).toBeCloseTo(ramp[i], 10);
  // An exponential moving average with a similar window trails a falling line by ~1/alpha steps.
  let ema = ramp[0];
  const alpha = 0.1;
  for (let i = 1; i <= 100; i++) ema += alpha * (ramp[i] - ema);
  expect(ema - ramp[100]).toBeGreaterThan(0.3);
});

test('noise is averaged out; a step stays centred where it happens', () => {
  const noisy = Array.from({ length: 400 }, (_, i) => (i < 200 ? 1 : 3) + (i % 2 === 0 ? 0.5 : -0.5));
  const smooth = gaussianSmooth(noisy, 4);
  expect(Math.abs(smooth[100] - 1)).toBeLessThan(0.02);
  expect(Math.abs(smooth[300] - 3)).toBeLessThan(0.02);
  // Symmetric about the jump between 199 and 200.
  expect(smooth[199] + smooth[200]).toBeCloseTo(4, 1);
});

test('log mode averages decades evenly and leaves out unusable values', () => {
  const values = [1, 100, 1, 100, 1, 100, 0, NaN];
  const smooth = gaussianSmooth(values, 50, true);
  expect(smooth[2]).toBeGreaterThan(5); // a geometric mean near 10, not the arithmetic ~50
  expect(smooth[2]).toBeLessThan(20);
  expect(smooth[6]).toBeNaN();
  expect(smooth[7]).toBeNaN();
});

test('the window is about 1% of the run', () => {
  expect(smoothingSigma(50)).toBe(1);
  expect(smoothingSigma(1000)).toBe(10);
});
