/**
 * Feature extraction with a small CAE encoder (exported the way `cae-onnx export` does) over 100
 * MNIST test images written as IDX files, and over an image folder with undecodable files: every
 * sample once, in order, pooled as asked, cached on disk and invalidated by a new encoder file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initializeParams } from '../../src/artifacts/initialize-params';
import { writeModelFile } from '../../src/artifacts/onnx-file';
import { buildEncoderGraph, caeParams } from '../../src/graph-builder/cae/model';
import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData } from '../../src/graph-builder/core/tensor-data';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import * as op from '../../src/graph-builder/ops';
import { normalizeCoefficients, writeChw } from '../../src/runtime/data/augment';
import { mnistPaths, readIdxDataset } from '../../src/runtime/data/idx';
import { decodeResizedCrop, imageSize } from '../../src/runtime/data/image-folder';
import { extractFeatures, FeatureOptions } from '../../src/runtime/eval/features';
import { ModelSession } from '../../src/runtime/session';
import { makeTestFolder } from '../data/make-images';
import { smallCaeConfig } from '../helpers/small-cae';

const COUNT = 100;
const MEAN = [0.1307];
const STD = [0.3081];
const config = smallCaeConfig(); // 28x28x1, patch 4: 49 patches, width 32

let dir: string;
let encoder: string;
let images: string;
let labels: string;
const mnist = readIdxDataset(mnistPaths('test').images, mnistPaths('test').labels);

function writeEncoder(file: string, seed: number): void {
  const params = new Map(
    [...initializeParams(caeParams(config), seed)].filter(([name]) => name.startsWith('encoder.')),
  );
  writeModelFile(
    file,
    toModelProto(buildEncoderGraph(config), { paramsAs: 'initializers', paramValues: params }),
  );
}

function idxFile(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'features-'));
  encoder = path.join(dir, 'encoder.onnx');
  writeEncoder(encoder, 0);
  images = path.join(dir, 'images-idx3-ubyte');
  labels = path.join(dir, 'labels-idx1-ubyte');
  fs.writeFileSync(images, idxFile(0x803, [COUNT, 28, 28], mnist.images.data.subarray(0, COUNT * 784)));
  fs.writeFileSync(labels, idxFile(0x801, [COUNT], mnist.labels!.subarray(0, COUNT)));
});

afterEach(() => jest.restoreAllMocks());

const options = (extra: Partial<FeatureOptions> = {}): FeatureOptions => ({
  encoder,
  source: { kind: 'idx', images, labels },
  mean: MEAN,
  std: STD,
  pool: 'tokens',
  batchSize: 16, // 6 full batches and one of 4
  ...extra,
});

/** The encoder's tokens [1, 50, 32] for one normalized image [1, 1, 28, 28]. */
async function encodeOne(image: Float32Array): Promise<Float32Array> {
  const session = await ModelSession.create(encoder);
  try {
    const out = await session.run({ images: tensorData('float32', [1, 1, 28, 28], image) });
    expect(out.tokens.shape).toEqual([1, 50, 32]);
    return out.tokens.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** MNIST test image i, normalized (28 -> 28 is an identity resize). */
function mnistImage(i: number): Float32Array {
  return Float32Array.from(
    mnist.images.data.subarray(i * 784, (i + 1) * 784),
    (p) => (p / 255 - MEAN[0]) / STD[0],
  );
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('all tokens of every sample, in IDX order, with their labels; the last batch smaller', async () => {
  const progress: [number, number][] = [];
  const set = await extractFeatures(options({ onProgress: (done, total) => progress.push([done, total]) }));
  expect([set.count, set.tokensPerSample, set.dim]).toEqual([COUNT, 50, 32]);
  expect(set.features).toHaveLength(COUNT * 50 * 32);
  expect(Array.from(set.labels)).toEqual(Array.from(mnist.labels!.subarray(0, COUNT)));
  expect(set.skipped).toEqual([]);
  expect(set.fromCache).toBe(false);
  expect(progress).toEqual([16, 32, 48, 64, 80, 96, 100].map((d) => [d, COUNT]));
  for (const i of [0, 17, 63, 99]) {
    const alone = await encodeOne(mnistImage(i));
    expect(maxAbsDiff(set.features.subarray(i * 1600, (i + 1) * 1600), alone)).toBeLessThan(1e-4);
  }
});

test("'cls' is token 0 and 'mean' the mean of the patch tokens 1..49", async () => {
  const tokens = await extractFeatures(options());
  const cls = await extractFeatures(options({ pool: 'cls', batchSize: 64 }));
  const mean = await extractFeatures(options({ pool: 'mean' }));
  for (const s of [cls, mean]) expect([s.count, s.tokensPerSample, s.dim]).toEqual([COUNT, 1, 32]);
  const expectedCls = new Float32Array(COUNT * 32);
  const expectedMean = new Float32Array(COUNT * 32);
  for (let i = 0; i < COUNT; i++) {
    for (let d = 0; d < 32; d++) {
      expectedCls[i * 32 + d] = tokens.features[i * 1600 + d];
      let sum = 0;
      for (let t = 1; t < 50; t++) sum += tokens.features[i * 1600 + t * 32 + d];
      expectedMean[i * 32 + d] = sum / 49;
    }
  }
  expect(maxAbsDiff(cls.features, expectedCls)).toBeLessThan(1e-5);
  expect(maxAbsDiff(mean.features, expectedMean)).toBeLessThan(1e-5);
  expect(Array.from(mean.labels)).toEqual(Array.from(tokens.labels));
});

test('limit keeps the first samples; no label file gives -1', async () => {
  const set = await extractFeatures(options({ pool: 'cls', limit: 10, source: { kind: 'idx', images } }));
  expect(set.count).toBe(10);
  expect(Array.from(set.labels)).toEqual(new Array(10).fill(-1));
  const all = await extractFeatures(options({ pool: 'cls' }));
  expect(maxAbsDiff(set.features, all.features.subarray(0, 10 * 32))).toBeLessThan(1e-5);
});

test('the cache: a second call loads from disk; a new encoder file invalidates it', async () => {
  const cacheDir = path.join(dir, 'cache');
  const create = jest.spyOn(ModelSession, 'create');
  const first = await extractFeatures(options({ pool: 'mean', cacheDir }));
  expect(first.fromCache).toBe(false);
  expect(create).toHaveBeenCalledTimes(1);
  expect(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.safetensors'))).toHaveLength(1);

  const progress: [number, number][] = [];
  const second = await extractFeatures(
    options({ pool: 'mean', cacheDir, onProgress: (d, t) => progress.push([d, t]) }),
  );
  expect(second.fromCache).toBe(true);
  expect(create).toHaveBeenCalledTimes(1); // no session: straight from the file
  expect(progress).toEqual([[COUNT, COUNT]]);
  expect([second.count, second.tokensPerSample, second.dim]).toEqual([first.count, 1, 32]);
  expect(Array.from(second.features)).toEqual(Array.from(first.features));
  expect(Array.from(second.labels)).toEqual(Array.from(first.labels));

  // other inputs have other keys
  const cls = await extractFeatures(options({ pool: 'cls', cacheDir }));
  expect(cls.fromCache).toBe(false);
  const limited = await extractFeatures(options({ pool: 'mean', cacheDir, limit: 50 }));
  expect(limited.fromCache).toBe(false);
  expect(create).toHaveBeenCalledTimes(3);

  // a rewritten encoder (other weights) misses the cache and gives other features
  writeEncoder(encoder, 1);
  try {
    const third = await extractFeatures(options({ pool: 'mean', cacheDir }));
    expect(third.fromCache).toBe(false);
    expect(create).toHaveBeenCalledTimes(4);
    expect(maxAbsDiff(third.features, first.features)).toBeGreaterThan(1e-3);
    expect((await extractFeatures(options({ pool: 'mean', cacheDir }))).fromCache).toBe(true);
  } finally {
    writeEncoder(encoder, 0);
  }

  // a corrupt cache file is a miss, and is rewritten
  const files = fs.readdirSync(cacheDir);
  expect(files.every((f) => /^features-[0-9a-f]{32}\.safetensors$/.test(f))).toBe(true);
  for (const f of files) fs.writeFileSync(path.join(cacheDir, f), 'garbage');
  const again = await extractFeatures(options({ pool: 'mean', cacheDir }));
  expect(again.fromCache).toBe(false);
  expect(Array.from(again.features)).toEqual(Array.from(first.features));
  expect((await extractFeatures(options({ pool: 'mean', cacheDir }))).fromCache).toBe(true);
});

test('an image folder: sorted files, undecodable ones skipped and reported, labels from subfolders', async () => {
  const folder = await makeTestFolder();
  const set = await extractFeatures(
    options({ source: { kind: 'folder', dir: folder.dir }, pool: 'cls', batchSize: 3 }),
  );
  const good = [...folder.good].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  expect(set.count).toBe(good.length);
  expect(Array.from(set.labels)).toEqual(good.map(([, l]) => l));
  expect(set.skipped).toEqual(folder.bad.map((rel) => path.join(folder.dir, rel)).sort());

  // sample i is file i of the sorted good ones: decoded, resized (whole image) and normalized alone
  const { a, b } = normalizeCoefficients(MEAN, STD);
  for (const i of [0, 4, good.length - 1]) {
    const input = fs.readFileSync(path.join(folder.dir, good[i][0]));
    const { width, height } = await imageSize(input);
    const pixels = await decodeResizedCrop(input, { top: 0, left: 0, width, height }, 28, 1, 'cubic');
    const image = new Float32Array(784);
    writeChw(pixels, 28, 1, 1, false, a, b, image, 0);
    const cls = (await encodeOne(image)).subarray(0, 32);
    expect(maxAbsDiff(set.features.subarray(i * 32, (i + 1) * 32), cls)).toBeLessThan(1e-4);
  }

  // the cache keeps the skipped list
  const cacheDir = path.join(dir, 'folder-cache');
  const o = options({ source: { kind: 'folder', dir: folder.dir }, pool: 'cls', cacheDir });
  await extractFeatures(o);
  const cached = await extractFeatures(o);
  expect(cached.fromCache).toBe(true);
  expect(cached.skipped).toEqual(set.skipped);
  expect(Array.from(cached.labels)).toEqual(Array.from(set.labels));
});

/** A stand-in model with one input `name` of `shape` (its output is the negated input). */
function writeOddModel(file: string, name: string, shape: (number | string)[]): string {
  const g = new Graph('odd');
  g.output('tokens', op.neg(g.input(name, 'float32', shape)));
  writeModelFile(file, toModelProto(g, { paramsAs: 'initializers', paramValues: new Map() }));
  return file;
}

test('bad options and encoders are refused', async () => {
  await expect(extractFeatures(options({ batchSize: 0 }))).rejects.toThrow(/batchSize/);
  await expect(extractFeatures(options({ limit: 1.5 }))).rejects.toThrow(/limit/);
  await expect(extractFeatures(options({ mean: [0.1, 0.2], std: [1, 1] }))).rejects.toThrow(
    /mean must have 1/,
  );
  const odd = (name: string, shape: (number | string)[]) =>
    extractFeatures(options({ encoder: writeOddModel(path.join(dir, `odd-${name}.onnx`), name, shape) }));
  await expect(odd('pixels', ['batch', 1, 28, 28])).rejects.toThrow(/no tensor input 'images'/);
  await expect(odd('images', ['batch', 1, 28, 32])).rejects.toThrow(/only square/);
  await expect(odd('images', ['batch', 2, 28, 28])).rejects.toThrow(/2 channels/);
  await expect(odd('images', ['batch', 1, 'h', 'w'])).rejects.toThrow(/static C, H, W/);
  await expect(odd('images', ['batch', 1, 28, 28])).rejects.toThrow(/must be float32 \[16, 1 \+ N, D\]/);
});
