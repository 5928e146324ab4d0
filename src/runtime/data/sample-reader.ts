/**
 * Every sample of a dataset once, in dataset order (IDX order, or the sorted files of a folder), resized
 * without augmentation (the whole image: bilinear for IDX, bicubic for files) and normalized: what
 * evaluation reads (frozen features, validation, prediction). Undecodable files are reported, not fatal.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { normalizeCoefficients, perChannel, resizedCropBilinear, writeChw } from './augment';
import { mnistPaths, readIdxDataset } from './idx';
import { decodeResizedCrop, imageSize, listImageFolder } from './image-folder';
import type { LoaderSource } from './types';

/** Image files decoded at once. */
const FILE_CONCURRENCY = 8;

/** A data source resolved to its files (sorted image files of a folder, or IDX files). */
export type ResolvedSource =
  | { readonly kind: 'idx'; readonly images: string; readonly labels?: string }
  | { readonly kind: 'files'; readonly root: string; readonly files: readonly string[] };

/** A batch of decoded samples: the decodable ones of a range of the dataset, in order. */
export interface SampleBatch {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly skipped: string[];
}

export interface SampleReader {
  /** Samples in the dataset (after the limit), skipped ones included. */
  readonly total: number;
  read(start: number, end: number): Promise<SampleBatch>;
}

/** Output geometry: channels and side, and the normalization as x * a + b per channel. */
interface ImageGeometry {
  readonly channels: 1 | 3;
  readonly size: number;
  readonly a: ArrayLike<number>;
  readonly b: ArrayLike<number>;
}

/** A source resolved to files, with the labels of a folder's images. */
export interface Resolved {
  readonly source: ResolvedSource;
  /** Labels of the files of a folder source. */
  readonly fileLabels: Int32Array | null;
}

/** The source with MNIST resolved to its IDX files and a folder to its sorted images (up to the limit). */
export function resolveSource(source: LoaderSource, limit: number | undefined): Resolved {
  switch (source.kind) {
    case 'mnist':
      return { source: { kind: 'idx', ...mnistPaths(source.split) }, fileLabels: null };
    case 'idx': {
      const images = path.resolve(source.images);
      const labels = source.labels === undefined ? undefined : path.resolve(source.labels);
      return {
        source: { kind: 'idx', images, ...(labels === undefined ? {} : { labels }) },
        fileLabels: null,
      };
    }
    case 'folder': {
      const folder = listImageFolder(source.dir);
      if (folder.files.length === 0)
        throw new Error(`no images (.jpg, .jpeg, .png, .webp) under ${folder.root}`);
      const n = Math.min(folder.files.length, limit ?? Infinity);
      return {
        source: { kind: 'files', root: folder.root, files: folder.files.slice(0, n) },
        fileLabels: folder.labels.slice(0, n),
      };
    }
    default:
      throw new Error(`unknown source kind ${(source as { kind: unknown }).kind}`);
  }
}

/** IDX images (uint8, any size) resized bilinearly (whole image) to size x size, in file order. */
function idxReader(
  images: string,
  labels: string | undefined,
  limit: number | undefined,
  g: ImageGeometry,
): SampleReader {
  const ds = readIdxDataset(images, labels);
  const { data, rows, cols } = ds.images;
  const total = Math.min(ds.images.count, limit ?? Infinity);
  const { channels, size } = g;
  const crop = { top: 0, left: 0, height: rows, width: cols };
  const plane = channels * size * size;
  return {
    total,
    read: async (start, end) => {
      const n = end - start;
      const out = new Float32Array(n * plane);
      const outLabels = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const i = start + k;
        const image = data.subarray(i * rows * cols, (i + 1) * rows * cols);
        const pixels = resizedCropBilinear(image, cols, rows, 1, crop, size);
        writeChw(pixels, size, 1, channels, false, g.a, g.b, out, k * plane);
        outLabels[k] = ds.labels ? ds.labels[i] : -1;
      }
      return { images: out, labels: outLabels, count: n, skipped: [] };
    },
  };
}

/** Image files decoded and resized (whole image, bicubic) to size x size, as the loader does without augmentation. */
function filesReader(files: readonly string[], labels: Int32Array, g: ImageGeometry): SampleReader {
  const { channels, size } = g;
  const plane = channels * size * size;
  const decode = async (file: string): Promise<Uint8Array | null> => {
    try {
      const input = await fsp.readFile(file);
      const { width, height } = await imageSize(input);
      return await decodeResizedCrop(input, { top: 0, left: 0, height, width }, size, channels, 'cubic');
    } catch {
      return null;
    }
  };
  return {
    total: files.length,
    read: async (start, end) => {
      const n = end - start;
      const decoded: (Uint8Array | null)[] = new Array<Uint8Array | null>(n).fill(null);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < n) {
          const k = next++;
          decoded[k] = await decode(files[start + k]);
        }
      };
      await Promise.all(Array.from({ length: Math.min(FILE_CONCURRENCY, n) }, worker));
      const ok = decoded.filter((d): d is Uint8Array => d !== null).length;
      const out = new Float32Array(ok * plane);
      const outLabels = new Int32Array(ok);
      const skipped: string[] = [];
      let m = 0;
      for (let k = 0; k < n; k++) {
        const pixels = decoded[k];
        if (pixels === null) {
          skipped.push(files[start + k]);
          continue;
        }
        writeChw(pixels, size, channels, channels, false, g.a, g.b, out, m * plane);
        outLabels[m++] = labels[start + k];
      }
      return { images: out, labels: outLabels, count: ok, skipped };
    },
  };
}

export interface SampleGeometry {
  readonly channels: 1 | 3;
  /** Side of the square output images. */
  readonly size: number;
  /** Per channel (or one value for all channels), applied to pixels in [0, 1]. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** A reader over a resolved source (see resolveSource). */
export function openSampleReader(
  resolved: Resolved,
  geometry: SampleGeometry,
  limit: number | undefined,
): SampleReader {
  const { channels, size } = geometry;
  const norm = normalizeCoefficients(
    perChannel(geometry.mean, channels, 'mean'),
    perChannel(geometry.std, channels, 'std'),
  );
  const g: ImageGeometry = { channels, size, a: norm.a, b: norm.b };
  const { source, fileLabels } = resolved;
  return source.kind === 'idx'
    ? idxReader(source.images, source.labels, limit, g)
    : filesReader(source.files, fileLabels ?? new Int32Array(source.files.length).fill(-1), g);
}
