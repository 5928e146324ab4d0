import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { readIdxDataset, mnistPaths } from '../../src/runtime/data/idx';
import { Batch, BatchLoader, LoaderOptions } from '../../src/runtime/data/loader';
import { epochPermutation } from '../../src/runtime/data/order';

const AUG = { scale: [0.08, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number], flip: true };

function mnistOptions(extra: Partial<LoaderOptions> = {}): LoaderOptions {
  return {
    source: { kind: 'mnist', split: 'train' },
    imageSize: 28,
    channels: 1,
    batchSize: 64,
    seed: 42,
    augment: AUG,
    mean: [0.1307],
    std: [0.3081],
    limit: 1000, // 15 batches per epoch: 20 batches cross an epoch boundary
    ...extra,
  };
}

async function take(options: LoaderOptions, n: number): Promise<{ batches: Batch[]; loader: BatchLoader }> {
  const loader = await BatchLoader.open(options);
  const batches: Batch[] = [];
  try {
    for (let i = 0; i < n; i++) batches.push(await loader.next());
  } finally {
    await loader.close();
  }
  return { batches, loader };
}

function bytes(a: Float32Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function expectSame(a: Batch[], b: Batch[]): void {
  expect(b.length).toBe(a.length);
  a.forEach((x, i) => {
    const y = b[i];
    expect([y.epoch, y.position, y.next]).toEqual([x.epoch, x.position, x.next]);
    expect(bytes(y.images).equals(bytes(x.images))).toBe(true);
    expect(bytes(y.labels).equals(bytes(x.labels))).toBe(true);
    expect(y.tokenizerImages === undefined).toBe(x.tokenizerImages === undefined);
    if (x.tokenizerImages && y.tokenizerImages) {
      expect(bytes(y.tokenizerImages).equals(bytes(x.tokenizerImages))).toBe(true);
    }
  });
}

test('MNIST batches: shapes, labels, stream positions and epochs', async () => {
  const { batches, loader } = await take(mnistOptions({ workers: 0 }), 17);
  expect(loader.size).toBe(1000);
  expect(loader.batchesPerEpoch).toBe(15);
  batches.forEach((b, i) => {
    expect(b.images.length).toBe(64 * 28 * 28);
    expect(b.labels.length).toBe(64);
    for (const l of b.labels) expect(l >= 0 && l <= 9).toBe(true);
    expect(b.epoch).toBe(i < 15 ? 0 : 1);
    expect(b.position).toBe((i % 15) * 64);
    expect(b.next).toEqual(
      i === 14 ? { epoch: 1, position: 0 } : { epoch: b.epoch, position: b.position + 64 },
    );
    expect(b.tokenizerImages).toBeUndefined();
  });
  // normalized pixels: background (0) maps to -mean/std
  const min = batches[0].images.reduce((m, v) => Math.min(m, v), Infinity);
  expect(min).toBeCloseTo(-0.1307 / 0.3081, 5);
  // one epoch visits every sample once: label counts equal those of the first 960 of a permutation
  const { labels } = readIdxDataset(mnistPaths('train').images, mnistPaths('train').labels);
  const perm = epochPermutation(42, 0, 1000);
  const epoch0 = batches.slice(0, 15).flatMap((b) => Array.from(b.labels));
  expect(epoch0).toEqual(Array.from(perm.subarray(0, 960), (i) => labels?.[i]));
});

test('without augmentation a batch is exactly the normalized dataset images in permutation order', async () => {
  const { batches } = await take(mnistOptions({ workers: 0, augment: false, mean: [0.5], std: [0.5] }), 2);
  const ds = readIdxDataset(mnistPaths('train').images);
  const perm = epochPermutation(42, 0, 1000);
  for (const k of [0, 5, 63]) {
    const idx = perm[64 + k];
    const img = ds.images.data.subarray(idx * 784, (idx + 1) * 784);
    const got = batches[1].images.subarray(k * 784, (k + 1) * 784);
    img.forEach((v, i) => expect(got[i]).toBeCloseTo((v / 255 - 0.5) / 0.5, 5));
  }
});

test('same seed: identical batches with 0, 1 and 2 workers and after a resume; another seed differs', async () => {
  const opts = mnistOptions({
    tokenizer: { size: 14, scale: 0.8, shift: 0.1 },
    channels: 3,
    mean: [0.5, 0.4, 0.3],
    std: [0.2, 0.25, 0.3],
  });
  const ref = (await take({ ...opts, workers: 0 }, 20)).batches;
  expect(ref[0].images.length).toBe(64 * 3 * 28 * 28);
  expect(ref[0].tokenizerImages?.length).toBe(64 * 3 * 14 * 14);
  for (const v of ref[0].tokenizerImages ?? []) expect(v >= 0.1 - 1e-6 && v <= 0.9 + 1e-6).toBe(true);
  expectSame(ref, (await take({ ...opts, workers: 2 }, 20)).batches);
  expectSame(ref, (await take({ ...opts, workers: 1, prefetch: 1 }, 20)).batches);
  // resume right after batch 6 and after the last batch of epoch 0
  expectSame(ref.slice(7), (await take({ ...opts, workers: 2, start: ref[6].next }, 13)).batches);
  expectSame(ref.slice(15), (await take({ ...opts, workers: 0, start: ref[14].next }, 5)).batches);
  const other = (await take({ ...opts, workers: 0, seed: 43 }, 1)).batches[0];
  expect(bytes(other.images).equals(bytes(ref[0].images))).toBe(false);
  // epochs differ too
  expect(bytes(ref[15].images).equals(bytes(ref[0].images))).toBe(false);
});

test('random erasing: boxes of noise in some images, the same with 0 and 2 workers and on resume', async () => {
  const erase = { prob: 0.5, minArea: 0.02, maxArea: 1 / 3, minAspect: 0.3 };
  const plain = (await take(mnistOptions({ workers: 0 }), 3)).batches;
  const erased = (await take(mnistOptions({ workers: 0, erase }), 3)).batches;
  expectSame(erased, (await take(mnistOptions({ workers: 2, erase }), 3)).batches);
  expectSame(
    erased.slice(2),
    (await take(mnistOptions({ workers: 1, erase, start: erased[1].next }), 1)).batches,
  );
  let changed = 0;
  for (let k = 0; k < 64; k++) {
    const a = plain[0].images.subarray(k * 784, (k + 1) * 784);
    const b = erased[0].images.subarray(k * 784, (k + 1) * 784);
    const differing = a.reduce((n, v, i) => n + (v === b[i] ? 0 : 1), 0);
    if (differing > 0) {
      changed++;
      // A box of at least 2% of the image, at most a third of it.
      expect(differing).toBeGreaterThanOrEqual(Math.floor(0.02 * 784 * 0.9));
      expect(differing).toBeLessThanOrEqual(Math.ceil(784 / 3) + 28);
    }
  }
  // About half the images (prob 0.5), the rest untouched.
  expect(changed).toBeGreaterThan(16);
  expect(changed).toBeLessThan(48);
});

test('data-parallel shards: each rank gets its micro-batches of every group, next is the group end', async () => {
  const all = (await take(mnistOptions({ workers: 0 }), 24)).batches;
  for (const [ranks, perRank] of [
    [2, 1],
    [3, 2],
  ]) {
    const group = ranks * perRank;
    for (let rank = 0; rank < ranks; rank++) {
      const mine = (await take(mnistOptions({ workers: 1, shard: { rank, ranks, perRank } }), 2 * perRank))
        .batches;
      const want = [0, 1].flatMap((g) =>
        Array.from({ length: perRank }, (_, a) => all[g * group + rank * perRank + a]),
      );
      mine.forEach((b, i) => {
        expect(bytes(b.images).equals(bytes(want[i].images))).toBe(true);
        expect([b.epoch, b.position]).toEqual([want[i].epoch, want[i].position]);
        // Resuming after the group restarts every rank at the next group.
        expect(b.next).toEqual(all[Math.floor(i / perRank) * group + group - 1].next);
      });
    }
  }
});

describe('idx source and errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loader-idx-'));
    const n = 10;
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x803, 0);
    header.writeUInt32BE(n, 4);
    header.writeUInt32BE(4, 8);
    header.writeUInt32BE(6, 12);
    const px = Buffer.from(Array.from({ length: n * 24 }, (_, i) => Math.floor(i / 24) * 20));
    fs.writeFileSync(path.join(dir, 'images'), Buffer.concat([header, px]));
    fs.writeFileSync(path.join(dir, 'bad'), Buffer.concat([Buffer.from([0, 0, 8, 1]), header.subarray(4)]));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('an idx file without labels, non-square images', async () => {
    const opts: LoaderOptions = {
      source: { kind: 'idx', images: path.join(dir, 'images') },
      imageSize: 8,
      channels: 1,
      batchSize: 3,
      seed: 1,
      augment: false,
      mean: [0],
      std: [1],
    };
    const { batches, loader } = await take(opts, 4);
    expect(loader.batchesPerEpoch).toBe(3);
    expect(Array.from(batches[0].labels)).toEqual([-1, -1, -1]);
    // every image is constant (20 * index), so is its resize; the epoch covers distinct images
    const seen = new Set<number>();
    for (const b of batches.slice(0, 3)) {
      for (let k = 0; k < 3; k++) {
        const img = b.images.subarray(k * 64, (k + 1) * 64);
        for (const v of img) expect(v).toBeCloseTo(img[0], 6);
        seen.add(Math.round(img[0] * 255));
      }
    }
    expect(seen.size).toBe(9);
    expect(batches[3].epoch).toBe(1);
    expectSame(batches, (await take({ ...opts, workers: 2 }, 4)).batches);
  });

  test('clear errors', async () => {
    const base = mnistOptions({ workers: 0 });
    await expect(BatchLoader.open({ ...base, batchSize: 2000 })).rejects.toThrow(/fewer than one batch/);
    await expect(BatchLoader.open({ ...base, mean: [0.1, 0.2] })).rejects.toThrow(
      /mean must have 1 or 1 entries/,
    );
    await expect(BatchLoader.open({ ...base, augment: { ...AUG, scale: [0.5, 0.1] } })).rejects.toThrow(
      /scale/,
    );
    const bad: LoaderOptions = { ...base, source: { kind: 'idx', images: path.join(dir, 'bad') } };
    await expect(BatchLoader.open(bad)).rejects.toThrow(/wrong IDX magic/);
    await expect(BatchLoader.open({ ...bad, workers: 2 })).rejects.toThrow(/wrong IDX magic/);
    const loader = await BatchLoader.open(base);
    await loader.close();
    await expect(loader.next()).rejects.toThrow(/closed/);
  });
});

test('closing the loader lets its workers exit by themselves, also with batches in flight (no terminate)', async () => {
  const terminate = jest.spyOn(Worker.prototype, 'terminate');
  const exits: number[] = [];
  const posted = jest.spyOn(Worker.prototype, 'postMessage');
  try {
    const loader = await BatchLoader.open(mnistOptions({ workers: 2, prefetch: 6 }));
    await loader.next(); // the others of the prefetch are still being built
    const workers = new Set(posted.mock.contexts as Worker[]);
    expect(workers.size).toBe(2);
    for (const w of workers) w.once('exit', (code) => exits.push(code));
    const started = performance.now();
    await loader.close();
    expect(performance.now() - started).toBeLessThan(5000);
    expect(exits).toEqual([0, 0]);
    expect(terminate).not.toHaveBeenCalled();
  } finally {
    terminate.mockRestore();
    posted.mockRestore();
  }
});

test('throughput: MNIST with 2 workers (logged)', async () => {
  const loader = await BatchLoader.open(
    mnistOptions({ workers: 2, batchSize: 256, limit: undefined, prefetch: 8 }),
  );
  try {
    await loader.next();
    const n = 100;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await loader.next();
    const s = (performance.now() - t0) / 1000;
    console.log(`MNIST 28x28 RandomResizedCrop+flip, 2 workers: ${Math.round((n * 256) / s)} images/s`);
  } finally {
    await loader.close();
  }
});
