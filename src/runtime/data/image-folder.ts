import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import type { CropBox } from './augment';
import { compareNames, isImage, labelledImages } from './image-list';

export { IMAGE_EXTENSIONS } from './image-list';

/**
 * The images under a folder. If the folder has subfolders, each first-level subfolder is a class
 * (label = index in the sorted class names) and files directly in the folder get label -1; a flat
 * folder has all labels -1.
 */
export interface ImageFolder {
  readonly root: string;
  /** Absolute paths, sorted by their path relative to the root (code unit order, '/' separators). */
  readonly files: string[];
  readonly labels: Int32Array;
  readonly classes: string[];
}

function entryKind(dir: string, entry: fs.Dirent): 'dir' | 'file' | 'other' {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink()) {
    try {
      const st = fs.statSync(path.join(dir, entry.name));
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return 'other'; // a dangling link
    }
  }
  return 'other';
}

/** Lists the images under `dir` recursively (hidden entries, whose names start with '.', are left out). */
export function listImageFolder(dir: string): ImageFolder {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory())
    throw new Error(`image folder ${root} is not a directory`);
  const relFiles: string[] = [];
  const seen = new Set<string>();
  const walk = (abs: string, rel: string): void => {
    const real = fs.realpathSync(abs);
    if (seen.has(real)) return; // a symlink cycle
    seen.add(real);
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const kind = entryKind(abs, entry);
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (kind === 'dir') walk(path.join(abs, entry.name), childRel);
      else if (kind === 'file' && isImage(entry.name)) relFiles.push(childRel);
    }
  };
  walk(root, '');
  const classes = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && entryKind(root, e) === 'dir')
    .map((e) => e.name)
    .sort(compareNames);
  const { files, labels } = labelledImages(relFiles, classes);
  return { root, files: files.map((rel) => path.join(root, ...rel.split('/'))), labels, classes };
}

/** Width and height of an encoded image (from its header), as stored (EXIF orientation is not applied, like PIL). */
export async function imageSize(input: Buffer): Promise<{ width: number; height: number }> {
  const meta = await sharp(input).metadata();
  const { width, height } = meta;
  if (!(width !== undefined && height !== undefined && width > 0 && height > 0)) {
    throw new Error(`image without a size (format ${meta.format})`);
  }
  return { width, height };
}

export type ResizeKernel = 'cubic' | 'lanczos3';

/** One output of `decodeResizedCrops`: size x size pixels resized with `kernel`. */
export interface ResizeView {
  readonly size: number;
  readonly kernel: ResizeKernel;
}

function toChannels(img: Sharp, channels: 1 | 3): Sharp {
  return channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
}

async function rawPixels(img: Sharp, size: number, channels: number): Promise<Uint8Array> {
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== channels) {
    throw new Error(
      `decoded ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x${channels}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Decodes `input`, cuts out `crop` and resizes it to size x size (aspect not kept) with `kernel`.
 * Returns interleaved (HWC) uint8 pixels with `channels` channels (alpha dropped, 1 = luminance).
 */
export async function decodeResizedCrop(
  input: Buffer,
  crop: CropBox,
  size: number,
  channels: 1 | 3,
  kernel: ResizeKernel,
): Promise<Uint8Array> {
  const img = sharp(input)
    .extract({ left: crop.left, top: crop.top, width: crop.width, height: crop.height })
    .resize(size, size, { kernel, fit: 'fill' })
    .removeAlpha();
  return rawPixels(toChannels(img, channels), size, channels);
}

/**
 * `decodeResizedCrop` for several output sizes of the same crop: the file is decoded once (the
 * crop kept as raw pixels), then each view is resized from it.
 */
export async function decodeResizedCrops(
  input: Buffer,
  crop: CropBox,
  channels: 1 | 3,
  views: readonly ResizeView[],
): Promise<Uint8Array[]> {
  if (views.length === 1) {
    return [await decodeResizedCrop(input, crop, views[0].size, channels, views[0].kernel)];
  }
  // keep the cut in sRGB with its alpha, and resize before dropping alpha and taking luminance, in the
  // order of the single-view pipeline, so that both give the same pixels
  const { data, info } = await sharp(input)
    .extract({ left: crop.left, top: crop.top, width: crop.width, height: crop.height })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 && info.channels !== 4)
    throw new Error(`decoded ${info.channels} channels, expected 3 or 4`);
  const raw = { width: info.width, height: info.height, channels: info.channels };
  return Promise.all(
    views.map((v) => {
      const img = sharp(data, { raw })
        .resize(v.size, v.size, { kernel: v.kernel, fit: 'fill' })
        .removeAlpha();
      return rawPixels(toChannels(img, channels), v.size, channels);
    }),
  );
}
