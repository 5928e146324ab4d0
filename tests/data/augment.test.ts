import { Rng } from '../../src/random/rng';
import {
  centralCrop,
  drawAugmentation,
  mapCoefficients,
  normalizeCoefficients,
  randomResizedCropParams,
  resizedCropBilinear,
  roundHalfEven,
  writeChw,
} from '../../src/runtime/data/augment';

/** An Rng whose uniform() returns scripted values (int() is built on uniform()). */
class Scripted extends Rng {
  constructor(private readonly values: number[]) {
    super(0);
  }
  override uniform(): number {
    const v = this.values.shift();
    if (v === undefined) throw new Error('out of scripted values');
    return v;
  }
}

test('Python rounding (ties to even)', () => {
  expect([0.5, 1.5, 2.5, 3.49, 3.5, 13.333].map(roundHalfEven)).toEqual([0, 2, 2, 3, 4, 13]);
});

test('RandomResizedCrop follows torchvision get_params: draw order and sizes', () => {
  // area = 10000 * (0.08 + 0.92 * 0.5) = 5400, aspect exp(0) = 1 -> 73x73; top = int(0, 27) at u 0, left at u 0.999
  const c = randomResizedCropParams(new Scripted([0.5, 0.5, 0, 0.999]), 100, 100);
  expect(c).toEqual({ top: 0, left: 27, height: 73, width: 73 });
  // first attempt too big (w = round(sqrt(10000 * 4/3)) = 115 > 100); second: area 800, aspect 1 -> 28x28
  const d = randomResizedCropParams(new Scripted([0.99999, 0.99999, 0, 0.5, 0, 0]), 100, 100);
  expect(d).toEqual({ top: 0, left: 0, height: 28, width: 28 });
});

test('RandomResizedCrop fallback: central crop clamped to the ratio range', () => {
  // 10 attempts that never fit a 100x10 image
  expect(randomResizedCropParams(new Rng(1), 100, 10, [0.9, 1])).toEqual({
    top: 0,
    left: 43,
    height: 10,
    width: 13,
  });
  expect(centralCrop(10, 100, [3 / 4, 4 / 3])).toEqual({ top: 43, left: 0, height: 13, width: 10 });
  expect(centralCrop(50, 40, [3 / 4, 4 / 3])).toEqual({ top: 0, left: 0, height: 40, width: 50 });
});

test.each([
  [224, 224],
  [64, 48],
  [30, 90],
  [28, 28],
])('RandomResizedCrop params stay in range over many draws (%ix%i)', (W, H) => {
  const rng = new Rng(W * 1000 + H);
  const scale: [number, number] = [0.08, 1];
  const ratio: [number, number] = [3 / 4, 4 / 3];
  const fallback = centralCrop(W, H, ratio);
  let fallbacks = 0;
  let areaSum = 0;
  let logAspectSum = 0;
  const n = 5000;
  for (let i = 0; i < n; i++) {
    const { top, left, height: h, width: w } = randomResizedCropParams(rng, W, H, scale, ratio);
    expect(w > 0 && w <= W && h > 0 && h <= H).toBe(true);
    expect(top >= 0 && top <= H - h && left >= 0 && left <= W - w).toBe(true);
    if (top === fallback.top && left === fallback.left && h === fallback.height && w === fallback.width) {
      fallbacks++;
      continue;
    }
    // w = round(sqrt(A * r)), h = round(sqrt(A / r)) with A / area in scale and r in ratio, up to rounding
    expect(((w + 0.5) * (h + 0.5)) / (W * H)).toBeGreaterThanOrEqual(scale[0]);
    expect(((w - 0.5) * (h - 0.5)) / (W * H)).toBeLessThanOrEqual(scale[1]);
    expect((w + 0.5) / (h - 0.5)).toBeGreaterThanOrEqual(ratio[0]);
    expect((w - 0.5) / (h + 0.5)).toBeLessThanOrEqual(ratio[1]);
    areaSum += (w * h) / (W * H);
    logAspectSum += Math.log(w / h);
  }
  if (W === 224) {
    expect(fallbacks).toBeLessThan(5);
    const meanArea = areaSum / (n - fallbacks);
    expect(meanArea).toBeGreaterThan(0.45); // U(0.08, 1) has mean 0.54; large crops are rejected more often
    expect(meanArea).toBeLessThan(0.56);
    expect(Math.abs(logAspectSum / (n - fallbacks))).toBeLessThan(0.02);
  }
});

test('flip has probability 0.5 and augment false draws nothing', () => {
  const rng = new Rng(5);
  let flips = 0;
  for (let i = 0; i < 4000; i++) {
    if (drawAugmentation(rng, 32, 32, { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flip: true }).flip) flips++;
  }
  expect(flips / 4000).toBeGreaterThan(0.45);
  expect(flips / 4000).toBeLessThan(0.55);
  const noFlip = drawAugmentation(new Rng(5), 32, 32, {
    scale: [0.08, 1],
    ratio: [3 / 4, 4 / 3],
    flip: false,
  });
  expect(noFlip.flip).toBe(false);
  const r = new Rng(9);
  const before = r.state;
  expect(drawAugmentation(r, 30, 20, false)).toEqual({
    crop: { top: 0, left: 0, height: 20, width: 30 },
    flip: false,
  });
  expect(r.state).toEqual(before);
});

describe('bilinear resize (align_corners=False)', () => {
  test('a constant image stays constant', () => {
    const img = new Uint8Array(28 * 20).fill(77);
    for (const crop of [
      { top: 0, left: 0, height: 20, width: 28 },
      { top: 3, left: 5, height: 9, width: 17 },
    ]) {
      for (const size of [4, 20, 64]) {
        const out = resizedCropBilinear(img, 28, 20, 1, crop, size);
        expect(out.length).toBe(size * size);
        for (const v of out) expect(v).toBeCloseTo(77, 4);
      }
    }
  });

  test('a gradient stays monotone, and same-size is the identity', () => {
    const W = 30;
    const H = 90;
    const img = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) img[y * W + x] = x * 8;
    for (const size of [7, 30, 55]) {
      const out = resizedCropBilinear(img, W, H, 1, { top: 10, left: 2, height: 60, width: 25 }, size);
      for (let y = 0; y < size; y++) {
        for (let x = 1; x < size; x++) expect(out[y * size + x]).toBeGreaterThan(out[y * size + x - 1]);
        expect(out[y * size]).toBeCloseTo(out[0], 4);
      }
    }
    const sq = Uint8Array.from({ length: 25 }, (_, i) => i * 7);
    expect(Array.from(resizedCropBilinear(sq, 5, 5, 1, { top: 0, left: 0, height: 5, width: 5 }, 5))).toEqual(
      Array.from(sq),
    );
  });

  test('matches PyTorch interpolate values', () => {
    // F.interpolate([[0, 10]], size=4, mode='linear', align_corners=False) = [0, 2.5, 7.5, 10]
    const out = resizedCropBilinear(
      Uint8Array.from([0, 10]),
      2,
      1,
      1,
      { top: 0, left: 0, height: 1, width: 2 },
      4,
    );
    for (let y = 0; y < 4; y++) expect(Array.from(out.subarray(y * 4, y * 4 + 4))).toEqual([0, 2.5, 7.5, 10]);
    // downscale 4 -> 2: sources 0.5 and 2.5
    const down = resizedCropBilinear(
      Uint8Array.from([0, 10, 20, 30]),
      4,
      1,
      1,
      { top: 0, left: 0, height: 1, width: 4 },
      2,
    );
    expect(Array.from(down.subarray(0, 2))).toEqual([5, 25]);
  });

  test('interleaved channels', () => {
    const rgb = Uint8Array.from([10, 20, 30, 50, 60, 70]); // 2x1 image, 3 channels
    const out = resizedCropBilinear(rgb, 2, 1, 3, { top: 0, left: 0, height: 1, width: 2 }, 2);
    expect(Array.from(out.subarray(0, 6))).toEqual([10, 20, 30, 50, 60, 70]);
  });
});

test('normalization uses mean/std, CHW layout, flip and channel repetition', () => {
  // 2x2 gray image: [0, 255; 51, 102]
  const px = Float32Array.from([0, 255, 51, 102]);
  const { a, b } = normalizeCoefficients([0.5, 0.25, 0], [0.25, 0.5, 1]);
  const out = new Float32Array(1 + 3 * 4);
  writeChw(px, 2, 1, 3, false, a, b, out, 1);
  expect(out[0]).toBe(0);
  const expected = [0.5, 0.25, 0].flatMap((m, c) =>
    [0, 255, 51, 102].map((v) => (v / 255 - m) / [0.25, 0.5, 1][c]),
  );
  expected.forEach((v, i) => expect(out[1 + i]).toBeCloseTo(v, 5));
  expect(out[1]).toBeCloseTo(-2, 6);
  expect(out[2]).toBeCloseTo(2, 6);
  const flipped = new Float32Array(12);
  writeChw(px, 2, 1, 3, true, a, b, flipped, 0);
  expect(flipped[0]).toBeCloseTo(2, 6);
  expect(flipped[1]).toBeCloseTo(-2, 6);
  const map = mapCoefficients(1, 0.8, 0.1);
  const tok = new Float32Array(4);
  writeChw(px, 2, 1, 1, false, map.a, map.b, tok, 0);
  expect(tok[0]).toBeCloseTo(0.1, 6);
  expect(tok[1]).toBeCloseTo(0.9, 6);
  expect(() => normalizeCoefficients([0.5], [0])).toThrow(/std != 0/);
});
