import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Batch, BatchLoader, LoaderOptions } from '../../src/runtime/data/loader';
import { makeTestFolder, TestFolder, writeImage } from './make-images';

let folder: TestFolder;
beforeAll(async () => {
  folder = await makeTestFolder();
});
afterAll(() => fs.rmSync(folder.dir, { recursive: true, force: true }));

function options(extra: Partial<LoaderOptions> = {}): LoaderOptions {
  return {
    source: { kind: 'folder', dir: folder.dir },
    imageSize: 32,
    channels: 3,
    batchSize: 4, // 12 files: 3 full batches, so one epoch meets every file
    seed: 3,
    augment: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3], flip: true },
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    tokenizer: { size: 16, scale: 0.8, shift: 0.1 },
    ...extra,
  };
}

async function take(
  opts: LoaderOptions,
  n: number,
): Promise<{ batches: Batch[]; stats: ReturnType<BatchLoader['stats']> }> {
  const loader = await BatchLoader.open(opts);
  try {
    const batches: Batch[] = [];
    for (let i = 0; i < n; i++) batches.push(await loader.next());
    return { batches, stats: loader.stats() };
  } finally {
    await loader.close();
  }
}

const same = (a: Float32Array | Int32Array | undefined, b: Float32Array | Int32Array | undefined): boolean =>
  a !== undefined &&
  b !== undefined &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

test.each([0, 2])(
  'full batches from a folder, bad files skipped and reported (workers %i)',
  async (workers) => {
    const { batches, stats } = await take(options({ workers }), 6);
    expect(stats.skipped).toBe(2);
    expect(stats.skippedFiles).toEqual(folder.bad.map((rel) => path.join(folder.dir, rel)));
    for (const b of batches) {
      expect(b.images.length).toBe(4 * 3 * 32 * 32);
      expect(b.tokenizerImages?.length).toBe(4 * 3 * 16 * 16);
      for (const v of b.images) expect(v >= -1 - 1e-6 && v <= 1 + 1e-6).toBe(true);
      for (const v of b.tokenizerImages ?? []) expect(v >= 0.1 - 1e-6 && v <= 0.9 + 1e-6).toBe(true);
      for (const l of b.labels) expect([-1, 0, 1, 2]).toContain(l);
    }
    // every decodable image's label shows up in the first epoch; the two bad ones were replaced
    const labels = batches.slice(0, 3).flatMap((b) => Array.from(b.labels));
    expect(labels.length).toBe(12);
    const count = (xs: number[], v: number): number => xs.filter((x) => x === v).length;
    for (const v of [-1, 0, 1, 2]) {
      expect(count(labels, v)).toBeGreaterThanOrEqual(
        count(
          folder.good.map(([, l]) => l),
          v,
        ),
      );
    }
  },
);

test('folder batches are deterministic across workers, resumes and 1 channel', async () => {
  const ref = (await take(options({ workers: 0 }), 7)).batches;
  const two = (await take(options({ workers: 2, prefetch: 3 }), 7)).batches;
  const resumed = (await take(options({ workers: 2, start: ref[3].next }), 3)).batches;
  ref.forEach((b, i) => {
    expect(same(b.images, two[i].images) && same(b.labels, two[i].labels)).toBe(true);
    expect(same(b.tokenizerImages, two[i].tokenizerImages)).toBe(true);
  });
  resumed.forEach((b, i) => expect(same(b.images, ref[4 + i].images)).toBe(true));
  const other = (await take(options({ workers: 0, seed: 4 }), 1)).batches[0];
  expect(same(other.images, ref[0].images)).toBe(false);
  const gray = (
    await take(options({ workers: 0, channels: 1, mean: [0.5], std: [0.5], augment: false, limit: 8 }), 3)
  ).batches;
  expect(gray[0].images.length).toBe(4 * 32 * 32);
  expect(gray[2].epoch).toBe(1);
});

test('the main view does not depend on whether the tokenizer view is asked for', async () => {
  for (const channels of [1, 3] as const) {
    const base = options({ workers: 0, channels, mean: [0.5], std: [0.5] });
    const withTok = (await take(base, 3)).batches;
    const without = (await take({ ...base, tokenizer: undefined }, 3)).batches;
    withTok.forEach((b, i) => {
      expect(without[i].tokenizerImages).toBeUndefined();
      expect(same(b.images, without[i].images)).toBe(true);
    });
  }
});

test('a folder where nothing decodes is an error, not a hang', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'all-bad-'));
  try {
    for (const f of ['a.jpg', 'b.png']) fs.writeFileSync(path.join(dir, f), 'garbage');
    const loader = await BatchLoader.open(
      options({ source: { kind: 'folder', dir }, batchSize: 2, workers: 0 }),
    );
    await expect(loader.next()).rejects.toThrow(/none of the 2 image files could be decoded/);
    await loader.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('throughput: JPEG decoding with 2 workers (logged)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jpeg-rate-'));
  try {
    const n = 96;
    for (let i = 0; i < n; i++) await writeImage(path.join(dir, `c${i % 3}`, `${i}.jpg`), 500, 375, i);
    const loader = await BatchLoader.open(
      options({
        source: { kind: 'folder', dir },
        imageSize: 224,
        tokenizer: undefined,
        batchSize: 32,
        workers: 2,
      }),
    );
    try {
      const t0 = performance.now();
      for (let i = 0; i < 6; i++) await loader.next();
      const s = (performance.now() - t0) / 1000;
      console.log(`500x375 JPEG -> 224 RandomResizedCrop, 2 workers: ${Math.round((6 * 32) / s)} images/s`);
      expect(loader.stats().skipped).toBe(0);
    } finally {
      await loader.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
