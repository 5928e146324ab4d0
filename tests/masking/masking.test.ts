import { Rng } from '../../src/random/rng';
import { blockMask, makeMaskBatch, maskIndices, randomMask } from '../../src/runtime/masking';

const G14 = { height: 14, width: 14 };

function countOnes(mask: Uint8Array): number {
  return mask.reduce((s, v) => s + v, 0);
}

/** Number of horizontally or vertically adjacent cell pairs that are both masked. */
function maskedNeighbourPairs(mask: Uint8Array, height: number, width: number): number {
  let pairs = 0;
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      if (!mask[i * width + j]) continue;
      if (j + 1 < width && mask[i * width + j + 1]) pairs++;
      if (i + 1 < height && mask[(i + 1) * width + j]) pairs++;
    }
  }
  return pairs;
}

function expectSortedPartition(visible: ArrayLike<number>, masked: ArrayLike<number>, n: number): void {
  for (const row of [visible, masked]) {
    for (let i = 1; i < row.length; i++) expect(row[i]).toBeGreaterThan(row[i - 1]);
  }
  const all = [...Array.from(visible), ...Array.from(masked)].sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
}

describe('blockMask', () => {
  it('masks exactly 98 of 14x14 over 500 seeds', () => {
    const rng = new Rng(1);
    for (let s = 0; s < 500; s++) {
      const mask = blockMask(rng, G14, 98);
      expect(mask.length).toBe(196);
      expect(countOnes(mask)).toBe(98);
      expect(mask.every((v) => v === 0 || v === 1)).toBe(true);
    }
  });

  it.each([
    [7, 7, 24],
    [4, 4, 8],
    [2, 2, 1],
    [1, 9, 4],
    [14, 14, 0],
    [14, 14, 196],
    [7, 7, 0],
    [7, 7, 49],
    [2, 2, 4],
    [1, 1, 1],
    [3, 5, 14],
  ])('masks exactly the count on %ix%i with %i masked', (height, width, numMasked) => {
    const rng = new Rng(42);
    for (let s = 0; s < 200; s++) {
      const mask = blockMask(rng, { height, width }, numMasked);
      expect(mask.length).toBe(height * width);
      expect(countOnes(mask)).toBe(numMasked);
    }
  });

  it('reaches the exact count for every budget on 14x14 and 7x7', () => {
    const rng = new Rng(3);
    for (const grid of [G14, { height: 7, width: 7 }]) {
      const n = grid.height * grid.width;
      for (let k = 0; k <= n; k++) {
        for (let s = 0; s < 5; s++) expect(countOnes(blockMask(rng, grid, k))).toBe(k);
      }
    }
  });

  it('honours options and still reaches the exact count', () => {
    const rng = new Rng(5);
    for (let s = 0; s < 100; s++) {
      expect(countOnes(blockMask(rng, G14, 75, { minBlock: 4, minAspect: 0.5, maxAspect: 2 }))).toBe(75);
      expect(countOnes(blockMask(rng, G14, 120, { minBlock: 200 }))).toBe(120);
    }
  });

  it('is reproducible with the same seed and differs with another seed', () => {
    const a = blockMask(new Rng(11), G14, 98);
    const b = blockMask(new Rng(11), G14, 98);
    const c = blockMask(new Rng(12), G14, 98);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const fromState = new Rng(new Rng(11).state);
    expect(Array.from(blockMask(fromState, G14, 98))).toEqual(Array.from(a));
  });

  it('is blocky: far more masked neighbour pairs than random masking of the same count', () => {
    const rng = new Rng(9);
    const masks = 500;
    let blockPairs = 0;
    let randomPairs = 0;
    for (let s = 0; s < masks; s++) {
      blockPairs += maskedNeighbourPairs(blockMask(rng, G14, 98), 14, 14);
      randomPairs += maskedNeighbourPairs(randomMask(rng, 196, 98), 14, 14);
    }
    blockPairs /= masks;
    randomPairs /= masks;
    // Random: 364 pairs * (98/196) * (97/195) ~ 90.5.
    expect(randomPairs).toBeGreaterThan(85);
    expect(randomPairs).toBeLessThan(96);
    expect(blockPairs).toBeGreaterThan(1.3 * randomPairs);
  });

  it('rejects bad arguments', () => {
    const rng = new Rng(0);
    expect(() => blockMask(rng, G14, 197)).toThrow(/numMasked must be an integer in \[0, 196\]/);
    expect(() => blockMask(rng, G14, -1)).toThrow(/numMasked/);
    expect(() => blockMask(rng, G14, 2.5)).toThrow(/numMasked/);
    expect(() => blockMask(rng, G14, NaN)).toThrow(/numMasked/);
    expect(() => blockMask(rng, { height: 0, width: 14 }, 0)).toThrow(/grid.height/);
    expect(() => blockMask(rng, { height: 14, width: 1.5 }, 0)).toThrow(/grid.width/);
    expect(() => blockMask(rng, G14, 98, { minBlock: 0 })).toThrow(/minBlock/);
    expect(() => blockMask(rng, G14, 98, { minAspect: 0 })).toThrow(/minAspect/);
    expect(() => blockMask(rng, G14, 98, { minAspect: 2, maxAspect: 1 })).toThrow(/maxAspect/);
    expect(() => blockMask(rng, G14, 98, { maxAspect: Infinity })).toThrow(/maxAspect/);
  });
});

describe('randomMask', () => {
  it('masks exactly the count', () => {
    const rng = new Rng(2);
    for (const [n, k] of [
      [196, 98],
      [49, 24],
      [16, 8],
      [4, 1],
      [10, 0],
      [10, 10],
    ]) {
      for (let s = 0; s < 50; s++) {
        const mask = randomMask(rng, n, k);
        expect(mask.length).toBe(n);
        expect(countOnes(mask)).toBe(k);
      }
    }
  });

  it('masks every cell with frequency near 1/2 over 2000 masks', () => {
    const rng = new Rng(4);
    const freq = new Float64Array(196);
    const masks = 2000;
    for (let s = 0; s < masks; s++) {
      const mask = randomMask(rng, 196, 98);
      for (let i = 0; i < 196; i++) freq[i] += mask[i];
    }
    // Standard deviation of one frequency: sqrt(0.25 / 2000) ~ 0.011; the band is ~5 sigma.
    for (const f of freq) {
      expect(f / masks).toBeGreaterThan(0.44);
      expect(f / masks).toBeLessThan(0.56);
    }
  });

  it('is reproducible with the same seed and differs with another seed', () => {
    const a = Array.from(randomMask(new Rng(8), 196, 98));
    expect(Array.from(randomMask(new Rng(8), 196, 98))).toEqual(a);
    expect(Array.from(randomMask(new Rng(9), 196, 98))).not.toEqual(a);
  });

  it('rejects bad arguments', () => {
    const rng = new Rng(0);
    expect(() => randomMask(rng, 0, 0)).toThrow(/numPatches/);
    expect(() => randomMask(rng, 10, 11)).toThrow(/numMasked must be an integer in \[0, 10\]/);
    expect(() => randomMask(rng, 10, 0.5)).toThrow(/numMasked/);
  });
});

describe('maskIndices', () => {
  it('splits a mask into ascending visible and masked positions', () => {
    expect(maskIndices(Uint8Array.from([1, 0, 0, 1, 1, 0]))).toEqual({
      visible: [1, 2, 5],
      masked: [0, 3, 4],
    });
    expect(maskIndices(new Uint8Array(0))).toEqual({ visible: [], masked: [] });
  });

  it('partitions the positions of a block mask', () => {
    const { visible, masked } = maskIndices(blockMask(new Rng(6), G14, 98));
    expect(masked.length).toBe(98);
    expectSortedPartition(visible, masked, 196);
  });

  it('rejects values other than 0 and 1', () => {
    expect(() => maskIndices(Uint8Array.from([0, 2]))).toThrow(/only 0 and 1/);
  });
});

describe('makeMaskBatch', () => {
  it.each(['block', 'random'] as const)('builds sorted, partitioning int64 rows (%s)', (kind) => {
    const batch = 16;
    const out = makeMaskBatch(new Rng(10), { batch, grid: G14, numMasked: 98, kind });
    expect(out.numVisible).toBe(98);
    expect(out.numMasked).toBe(98);
    expect(out.visibleIndex).toBeInstanceOf(BigInt64Array);
    expect(out.maskedIndex).toBeInstanceOf(BigInt64Array);
    expect(out.visibleIndex.length).toBe(batch * 98);
    expect(out.maskedIndex.length).toBe(batch * 98);
    const rows = new Set<string>();
    for (let b = 0; b < batch; b++) {
      const visible = Array.from(out.visibleIndex.subarray(b * 98, (b + 1) * 98), Number);
      const masked = Array.from(out.maskedIndex.subarray(b * 98, (b + 1) * 98), Number);
      expectSortedPartition(visible, masked, 196);
      rows.add(masked.join(','));
    }
    expect(rows.size).toBe(batch);
  });

  it('handles uneven and degenerate counts', () => {
    const grid = { height: 7, width: 7 };
    const out = makeMaskBatch(new Rng(1), { batch: 3, grid, numMasked: 24, kind: 'block' });
    expect(out.numVisible).toBe(25);
    expect(out.visibleIndex.length).toBe(75);
    expect(out.maskedIndex.length).toBe(72);
    for (let b = 0; b < 3; b++) {
      expectSortedPartition(
        Array.from(out.visibleIndex.subarray(b * 25, (b + 1) * 25), Number),
        Array.from(out.maskedIndex.subarray(b * 24, (b + 1) * 24), Number),
        49,
      );
    }
    const none = makeMaskBatch(new Rng(1), { batch: 2, grid, numMasked: 0, kind: 'random' });
    expect(none.maskedIndex.length).toBe(0);
    expect(Array.from(none.visibleIndex.subarray(49), Number)).toEqual(
      Array.from({ length: 49 }, (_, i) => i),
    );
    const all = makeMaskBatch(new Rng(1), { batch: 2, grid, numMasked: 49, kind: 'block' });
    expect(all.visibleIndex.length).toBe(0);
    expect(all.maskedIndex.length).toBe(98);
  });

  it('is reproducible with the same seed and differs with another seed', () => {
    const spec = { batch: 4, grid: G14, numMasked: 98, kind: 'block' } as const;
    const a = makeMaskBatch(new Rng(20), spec);
    const b = makeMaskBatch(new Rng(20), spec);
    const c = makeMaskBatch(new Rng(21), spec);
    expect(Array.from(b.maskedIndex)).toEqual(Array.from(a.maskedIndex));
    expect(Array.from(b.visibleIndex)).toEqual(Array.from(a.visibleIndex));
    expect(Array.from(c.maskedIndex)).not.toEqual(Array.from(a.maskedIndex));
  });

  it('rejects bad arguments', () => {
    const rng = new Rng(0);
    const ok = { batch: 2, grid: G14, numMasked: 98, kind: 'block' } as const;
    expect(() => makeMaskBatch(rng, { ...ok, batch: 0 })).toThrow(/batch must be an integer >= 1/);
    expect(() => makeMaskBatch(rng, { ...ok, numMasked: 200 })).toThrow(
      /numMasked must be an integer in \[0, 196\]/,
    );
    expect(() => makeMaskBatch(rng, { ...ok, grid: { height: -1, width: 14 } })).toThrow(/grid.height/);
    const badKind = { ...ok, kind: 'checkerboard' } as unknown as typeof ok;
    expect(() => makeMaskBatch(rng, badKind)).toThrow(/kind must be 'block' or 'random'/);
  });

  it('generates 1000 block masks of 14x14 quickly', () => {
    const rng = new Rng(30);
    const t0 = performance.now();
    const out = makeMaskBatch(rng, { batch: 1000, grid: G14, numMasked: 98, kind: 'block' });
    const ms = performance.now() - t0;
    expect(out.maskedIndex.length).toBe(98000);
    expect(ms).toBeLessThan(2000);
  });
});
