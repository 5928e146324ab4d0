import { stepRng } from '../../src/runtime/train/step-inputs';

test("a step's generator starts at an independent point for every step (first draws uniform over steps)", () => {
  // Seeded with the raw (seed, step) words, the first draw was ~0 at every small step.
  for (const seed of [0, 1, 12345]) {
    const first = Array.from({ length: 2000 }, (_, s) => stepRng(seed, s + 1).uniform());
    const mean = first.reduce((a, v) => a + v, 0) / first.length;
    const sd = Math.sqrt(first.reduce((a, v) => a + (v - mean) ** 2, 0) / first.length);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(sd - Math.sqrt(1 / 12))).toBeLessThan(0.02);
    const tenths = new Array(10).fill(0);
    for (const v of first) tenths[Math.floor(v * 10)]++;
    for (const n of tenths) expect(n).toBeGreaterThan(140); // 200 expected per tenth
  }
  expect(stepRng(5, 9).uniform()).toBe(stepRng(5, 9).uniform());
});
