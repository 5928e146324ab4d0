import { FileFormatError } from './file-format-error';
import { allocate, BYTES_PER_ELEMENT, DType } from '../graph-builder/core/dtype';
import { rawBytes, sizeOf, tensorData, TensorData } from '../graph-builder/core/tensor-data';

/**
 * The huggingface safetensors format, on bytes in memory (no file system, so the browser page uses
 * it too): an 8-byte little-endian header length N, N bytes of UTF-8 JSON header, then the data
 * buffer. Tensor entries give `data_offsets` relative to the data buffer.
 * https://github.com/huggingface/safetensors
 */

const METADATA_KEY = '__metadata__';
/** Data starts at a multiple of this (the header is padded with spaces, as the reference writer does). */
const ALIGNMENT = 8;
/** The reference implementation refuses headers larger than this. */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE_TO_SAFETENSORS: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};
const SAFETENSORS_TO_DTYPE = new Map<string, DType>(
  (Object.keys(DTYPE_TO_SAFETENSORS) as DType[]).map((d) => [DTYPE_TO_SAFETENSORS[d], d]),
);
/** The typed array each dtype must be held in (compared by tag, which also works across realms). */
const ARRAY_TAG: Record<DType, string> = {
  float32: 'Float32Array',
  float64: 'Float64Array',
  float16: 'Uint16Array',
  int64: 'BigInt64Array',
  int32: 'Int32Array',
  uint8: 'Uint8Array',
  bool: 'Uint8Array',
};

export interface SafetensorsEntry {
  readonly dtype: DType;
  readonly shape: number[];
  /** Byte range in the data buffer (relative to its start, end exclusive). */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** Tensor entries in the order of their data in the file. */
  readonly entries: Map<string, SafetensorsEntry>;
  readonly metadata: Record<string, string>;
}

export interface ReadSafetensorsOptions {
  /** Only tensors whose name passes are read (the others are still validated in the header). */
  readonly names?: (name: string) => boolean;
}

export function assertLittleEndianHost(): void {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1)
    throw new Error('safetensors I/O needs a little-endian host');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The 8-byte length and the padded JSON header of `list` (tensors in this order, contiguous);
 * `name` names the file in errors. Checks names, dtypes, shapes and typed arrays.
 */
export function encodeSafetensorsHeader(
  name: string,
  list: readonly (readonly [string, TensorData])[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  const meta = metadata ?? {};
  if (Object.keys(meta).length > 0) {
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string')
        throw new FileFormatError(`${name}: metadata value for "${k}" must be a string`);
    }
    header[METADATA_KEY] = { ...meta };
  }
  const seen = new Set<string>();
  let offset = 0;
  for (const [tensor, t] of list) {
    if (tensor === METADATA_KEY)
      throw new FileFormatError(`${name}: "${METADATA_KEY}" cannot be a tensor name`);
    if (seen.has(tensor)) throw new FileFormatError(`${name}: duplicate tensor name "${tensor}"`);
    seen.add(tensor);
    const code = Object.prototype.hasOwnProperty.call(DTYPE_TO_SAFETENSORS, t.dtype)
      ? DTYPE_TO_SAFETENSORS[t.dtype]
      : undefined;
    if (code === undefined) {
      throw new FileFormatError(
        `${name}: tensor "${tensor}" has dtype "${String(t.dtype)}", which safetensors cannot hold`,
      );
    }
    const shape = [...t.shape];
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FileFormatError(`${name}: tensor "${tensor}" has invalid shape [${shape.join(', ')}]`);
    }
    const n = sizeOf(shape);
    const tag = Object.prototype.toString.call(t.data).slice(8, -1);
    if (tag !== ARRAY_TAG[t.dtype] || t.data.length !== n) {
      throw new FileFormatError(
        `${name}: tensor "${tensor}" (${t.dtype} [${shape.join(', ')}]) needs a ${ARRAY_TAG[t.dtype]} of ` +
          `${n} elements, got a ${tag} of ${t.data.length}`,
      );
    }
    const bytes = n * BYTES_PER_ELEMENT[t.dtype];
    header[tensor] = { dtype: code, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = json.byteLength + ((ALIGNMENT - (json.byteLength % ALIGNMENT)) % ALIGNMENT);
  const head = new Uint8Array(8 + padded).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return head;
}

/** A whole safetensors file in memory. */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, TensorData> | Iterable<[string, TensorData]>,
  metadata?: Record<string, string>,
  name = 'safetensors',
): Uint8Array {
  assertLittleEndianHost();
  const list: [string, TensorData][] = [...tensors];
  const head = encodeSafetensorsHeader(name, list, metadata);
  const total = list.reduce((s, [, t]) => s + rawBytes(t).byteLength, head.byteLength);
  const out = new Uint8Array(total);
  out.set(head, 0);
  let at = head.byteLength;
  for (const [, t] of list) {
    const bytes = rawBytes(t);
    out.set(bytes, at);
    at += bytes.byteLength;
  }
  return out;
}

/** The header length from the first 8 bytes of a file of `fileSize` bytes, checked. */
export function headerLength(name: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) throw new FileFormatError(`${name}: not a safetensors file (only ${fileSize} bytes)`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) {
    throw new FileFormatError(`${name}: not a safetensors file (implausible header length ${n})`);
  }
  const length = Number(n);
  if (8 + length > fileSize) {
    throw new FileFormatError(
      `${name}: truncated safetensors file (header length ${length} exceeds file size ${fileSize})`,
    );
  }
  return length;
}

/**
 * Parses and validates the JSON header `raw` of a file whose data buffer holds `dataLength` bytes:
 * dtypes, shapes, offsets within the data and not overlapping.
 */
export function parseSafetensorsHeader(name: string, raw: Uint8Array, dataLength: number): SafetensorsHeader {
  if (raw[0] !== 0x7b /* '{' */)
    throw new FileFormatError(`${name}: not a safetensors file (header is not a JSON object)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    throw new FileFormatError(`${name}: invalid safetensors header JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!isRecord(parsed)) throw new FileFormatError(`${name}: safetensors header is not a JSON object`);

  const metadata: [string, string][] = [];
  const entries: [string, SafetensorsEntry][] = [];
  for (const [tensor, value] of Object.entries(parsed)) {
    if (tensor === METADATA_KEY) {
      if (!isRecord(value))
        throw new FileFormatError(`${name}: "${METADATA_KEY}" must be an object of strings`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string')
          throw new FileFormatError(`${name}: metadata value for "${k}" is not a string`);
        metadata.push([k, v]);
      }
      continue;
    }
    if (!isRecord(value))
      throw new FileFormatError(`${name}: header entry for tensor "${tensor}" is not an object`);
    const { dtype: code, shape, data_offsets: offsets } = value;
    if (typeof code !== 'string') throw new FileFormatError(`${name}: tensor "${tensor}" has no dtype`);
    const dtype = SAFETENSORS_TO_DTYPE.get(code);
    if (dtype === undefined) {
      throw new FileFormatError(
        `${name}: tensor "${tensor}" has unsupported dtype "${code}" ` +
          `(supported: ${[...SAFETENSORS_TO_DTYPE.keys()].join(', ')})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw new FileFormatError(`${name}: tensor "${tensor}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isIndex) ||
      offsets[0] > offsets[1]
    ) {
      throw new FileFormatError(
        `${name}: tensor "${tensor}" has invalid data_offsets ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const expected = sizeOf(shape) * BYTES_PER_ELEMENT[dtype];
    if (end - begin !== expected) {
      throw new FileFormatError(
        `${name}: tensor "${tensor}" of dtype ${code} and shape [${shape.join(', ')}] needs ${expected} bytes, ` +
          `but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataLength) {
      throw new FileFormatError(
        `${name}: tensor "${tensor}" data_offsets [${begin}, ${end}] go past the end of the data ` +
          `(${dataLength} bytes; file truncated?)`,
      );
    }
    entries.push([tensor, { dtype, shape: [...shape], begin, end }]);
  }
  // Order by position in the data (object key order would put integer-like names first).
  entries.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let prev: [string, SafetensorsEntry] | undefined;
  for (const e of entries) {
    if (e[1].begin === e[1].end) continue;
    if (prev && e[1].begin < prev[1].end) {
      throw new FileFormatError(
        `${name}: data of tensors "${prev[0]}" [${prev[1].begin}, ${prev[1].end}] and ` +
          `"${e[0]}" [${e[1].begin}, ${e[1].end}] overlap`,
      );
    }
    prev = e;
  }
  return { entries: new Map(entries), metadata: Object.fromEntries(metadata) };
}

/** Reads a whole safetensors file held in memory; each tensor gets its own (aligned) typed array. */
export function decodeSafetensors(
  bytes: Uint8Array,
  name = 'safetensors',
  options: ReadSafetensorsOptions = {},
): { tensors: Map<string, TensorData>; metadata: Record<string, string> } {
  assertLittleEndianHost();
  const length = headerLength(name, bytes, bytes.byteLength);
  const dataStart = 8 + length;
  const { entries, metadata } = parseSafetensorsHeader(
    name,
    bytes.subarray(8, dataStart),
    bytes.byteLength - dataStart,
  );
  const tensors = new Map<string, TensorData>();
  for (const [tensor, e] of entries) {
    if (options.names && !options.names(tensor)) continue;
    const data = allocate(e.dtype, sizeOf(e.shape));
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(
      bytes.subarray(dataStart + e.begin, dataStart + e.end),
    );
    tensors.set(tensor, tensorData(e.dtype, e.shape, data));
  }
  return { tensors, metadata };
}
