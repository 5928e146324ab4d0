import { FileFormatError } from '../../artifacts/file-format-error';

/* The IDX format (MNIST's) on bytes in memory (no file system: the page parses MNIST with it). */

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
