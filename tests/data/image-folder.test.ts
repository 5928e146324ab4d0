import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decodeResizedCrop,
  decodeResizedCrops,
  imageSize,
  listImageFolder,
} from '../../src/runtime/data/image-folder';
import { makeTestFolder, TestFolder, writeImage } from './make-images';

let folder: TestFolder;
beforeAll(async () => {
  folder = await makeTestFolder();
});
afterAll(() => fs.rmSync(folder.dir, { recursive: true, force: true }));

test('lists images recursively, sorted, with class labels from first-level subfolders', () => {
  const f = listImageFolder(folder.dir);
  expect(f.classes).toEqual(['birds', 'cats', 'dogs']);
  const rel = f.files.map((p) => path.relative(folder.dir, p).split(path.sep).join('/'));
  const expected = [...folder.good.map(([r]) => r), ...folder.bad].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  expect(rel).toEqual(expected);
  const byPath = new Map<string, number>([
    ...folder.good,
    ...folder.bad.map((b): [string, number] => [b, b.startsWith('cats') ? 1 : 2]),
  ]);
  expect(Array.from(f.labels)).toEqual(rel.map((r) => byPath.get(r)));
});

test('a flat folder has all labels -1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flat-'));
  try {
    await writeImage(path.join(dir, 'b.png'), 8, 8, 1);
    await writeImage(path.join(dir, 'a.jpeg'), 8, 8, 2);
    const f = listImageFolder(dir);
    expect(f.files.map((p) => path.basename(p))).toEqual(['a.jpeg', 'b.png']);
    expect(Array.from(f.labels)).toEqual([-1, -1]);
    expect(f.classes).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decodes a crop to the requested size and channels', async () => {
  for (const [rel] of folder.good) {
    const input = fs.readFileSync(path.join(folder.dir, rel));
    const { width, height } = await imageSize(input);
    expect(`${width}x${height}`).toMatch(/^(64x48|30x90)$/);
    const crop = { top: 2, left: 3, height: height - 4, width: width - 6 };
    for (const channels of [1, 3] as const) {
      const px = await decodeResizedCrop(input, crop, 20, channels, 'cubic');
      expect(px.length).toBe(20 * 20 * channels);
      const tok = await decodeResizedCrop(input, crop, 12, channels, 'lanczos3');
      expect(tok.length).toBe(12 * 12 * channels);
    }
  }
  // the red channel is a left-to-right gradient
  const input = fs.readFileSync(path.join(folder.dir, 'cats/c1.jpg'));
  const { width, height } = await imageSize(input);
  const px = await decodeResizedCrop(input, { top: 0, left: 0, height, width }, 16, 3, 'cubic');
  expect(px[3 * 15]).toBeGreaterThan(px[0] + 150);
});

test('several views of one crop decode once and match the single-view pipeline exactly', async () => {
  for (const [rel] of folder.good) {
    const input = fs.readFileSync(path.join(folder.dir, rel));
    const { width, height } = await imageSize(input);
    const crop = { top: 1, left: 2, height: height - 3, width: width - 5 };
    for (const channels of [1, 3] as const) {
      const [main, tok] = await decodeResizedCrops(input, crop, channels, [
        { size: 32, kernel: 'cubic' },
        { size: 16, kernel: 'lanczos3' },
      ]);
      expect(Buffer.from(main).equals(await decodeResizedCrop(input, crop, 32, channels, 'cubic'))).toBe(
        true,
      );
      expect(Buffer.from(tok).equals(await decodeResizedCrop(input, crop, 16, channels, 'lanczos3'))).toBe(
        true,
      );
    }
  }
});

test('corrupt and empty files fail to decode with an error (not a crash)', async () => {
  for (const rel of folder.bad) {
    const input = fs.readFileSync(path.join(folder.dir, rel));
    await expect(
      (async () => {
        const { width, height } = await imageSize(input);
        return decodeResizedCrop(input, { top: 0, left: 0, height, width }, 8, 3, 'cubic');
      })(),
    ).rejects.toThrow();
  }
});
