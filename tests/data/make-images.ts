import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';

/** RGB pixels: a gradient in red and green, seeded hash noise in blue. */
export function testPixels(width: number, height: number, seed: number): Buffer {
  const px = new Uint8Array(width * height * 3);
  const sx = Math.max(1, width - 1);
  const sy = Math.max(1, height - 1);
  const mix = Math.imul(seed, 0x9e3779b1);
  let i = 0;
  for (let y = 0; y < height; y++) {
    const g = ((255 * y) / sy) | 0;
    for (let x = 0; x < width; x++) {
      px[i++] = ((255 * x) / sx) | 0;
      px[i++] = g;
      px[i++] = Math.imul((y * width + x) ^ mix, 0x85ebca6b) >>> 24;
    }
  }
  return Buffer.from(px.buffer, px.byteOffset, px.byteLength);
}

export async function writeImage(file: string, width: number, height: number, seed: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp(testPixels(width, height, seed), { raw: { width, height, channels: 3 } });
  const ext = path.extname(file).toLowerCase();
  const out =
    ext === '.png' ? img.png() : ext === '.webp' ? img.webp({ quality: 90 }) : img.jpeg({ quality: 90 });
  await out.toFile(file);
}

export interface TestFolder {
  readonly dir: string;
  /** Relative paths of the decodable images with their labels (classes birds, cats, dogs; -1 at the root). */
  readonly good: [string, number][];
  readonly bad: string[];
}

/**
 * 10 decodable images (JPEG/PNG/WebP, 64x48 and 30x90, some grayscale or with alpha) in class
 * subfolders and at the root, plus a corrupt .jpg (random bytes) and an empty .png.
 */
export async function makeTestFolder(): Promise<TestFolder> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-folder-'));
  const good: [string, number][] = [
    ['birds/b1.png', 0],
    ['birds/b2.JPG', 0],
    ['cats/c1.jpg', 1],
    ['cats/c2.webp', 1],
    ['cats/deeper/c3.jpeg', 1],
    ['dogs/d1.png', 2],
    ['dogs/d2.jpg', 2],
    ['dogs/d3.WebP', 2],
    ['dogs/d4.png', 2],
    ['top.jpg', -1],
  ];
  let seed = 1;
  for (const [rel] of good) {
    const [w, h] = seed % 2 === 0 ? [64, 48] : [30, 90];
    await writeImage(path.join(dir, rel), w, h, seed++);
  }
  // a grayscale PNG and an RGBA PNG replace two of the RGB ones
  await sharp(testPixels(64, 48, 99), { raw: { width: 64, height: 48, channels: 3 } })
    .toColourspace('b-w')
    .png()
    .toFile(path.join(dir, 'dogs/d1.png'));
  await sharp(testPixels(30, 90, 98), { raw: { width: 30, height: 90, channels: 3 } })
    .ensureAlpha(0.5)
    .png()
    .toFile(path.join(dir, 'dogs/d4.png'));
  const noise = Uint8Array.from({ length: 3000 }, (_, i) => Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 24);
  fs.writeFileSync(path.join(dir, 'cats/broken.jpg'), noise); // pseudo-random bytes
  fs.writeFileSync(path.join(dir, 'dogs/empty.png'), new Uint8Array(0));
  fs.writeFileSync(path.join(dir, 'dogs/notes.txt'), 'not an image');
  fs.writeFileSync(path.join(dir, '.hidden.jpg'), 'hidden');
  return { dir, good, bad: ['cats/broken.jpg', 'dogs/empty.png'] };
}
