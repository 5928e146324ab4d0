import { FileFormatError } from './file-format-error';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { allocate, BYTES_PER_ELEMENT, DType } from '../graph-builder/core/dtype';
import { rawBytes, sizeOf, tensorData, TensorData } from '../graph-builder/core/tensor-data';
import { writeAll, writeFileAtomic } from './atomic-write';

/**
 * The huggingface safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8
 * JSON header, then the data buffer. Tensor entries give `data_offsets` relative to the data buffer.
 * https://github.com/huggingface/safetensors
 */

const METADATA_KEY = '__metadata__';
/** Data starts at a multiple of this (the header is padded with spaces, as the reference writer does). */
const ALIGNMENT = 8;
/** The reference implementation refuses headers larger than this. */
const MAX_HEADER_BYTES = 100_000_000;
/** Single read/write calls are kept below Node's 2 GiB I/O limit. */
const IO_CHUNK_BYTES = 1 << 30;

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

function assertLittleEndianHost(): void {
  if (os.endianness() !== 'LE') throw new Error('safetensors I/O needs a little-endian host');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Writes `tensors` (in iteration order, contiguously) to `file` atomically. Tensor bytes are
 * streamed from each tensor's typed array; nothing is concatenated in memory.
 */
export function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, TensorData> | Iterable<[string, TensorData]>,
  metadata?: Record<string, string>,
): void {
  assertLittleEndianHost();
  const list: [string, TensorData][] = [...tensors];
  writeFileAtomic(file, (fd) => {
    const header: Record<string, unknown> = {};
    const meta = metadata ?? {};
    if (Object.keys(meta).length > 0) {
      for (const [k, v] of Object.entries(meta)) {
        if (typeof v !== 'string')
          throw new FileFormatError(`${file}: metadata value for "${k}" must be a string`);
      }
      header[METADATA_KEY] = { ...meta };
    }
    const seen = new Set<string>();
    let offset = 0;
    for (const [name, t] of list) {
      if (name === METADATA_KEY)
        throw new FileFormatError(`${file}: "${METADATA_KEY}" cannot be a tensor name`);
      if (seen.has(name)) throw new FileFormatError(`${file}: duplicate tensor name "${name}"`);
      seen.add(name);
      const code = Object.prototype.hasOwnProperty.call(DTYPE_TO_SAFETENSORS, t.dtype)
        ? DTYPE_TO_SAFETENSORS[t.dtype]
        : undefined;
      if (code === undefined) {
        throw new FileFormatError(
          `${file}: tensor "${name}" has dtype "${String(t.dtype)}", which safetensors cannot hold`,
        );
      }
      const shape = [...t.shape];
      if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new FileFormatError(`${file}: tensor "${name}" has invalid shape [${shape.join(', ')}]`);
      }
      const n = sizeOf(shape);
      const tag = Object.prototype.toString.call(t.data).slice(8, -1);
      if (tag !== ARRAY_TAG[t.dtype] || t.data.length !== n) {
        throw new FileFormatError(
          `${file}: tensor "${name}" (${t.dtype} [${shape.join(', ')}]) needs a ${ARRAY_TAG[t.dtype]} of ` +
            `${n} elements, got a ${tag} of ${t.data.length}`,
        );
      }
      const bytes = n * BYTES_PER_ELEMENT[t.dtype];
      header[name] = { dtype: code, shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const padded = json.byteLength + ((ALIGNMENT - (json.byteLength % ALIGNMENT)) % ALIGNMENT);
    const head = Buffer.alloc(8 + padded, 0x20);
    head.writeBigUInt64LE(BigInt(padded), 0);
    json.copy(head, 8);
    writeAll(fd, head);
    for (const [, t] of list) {
      const bytes = rawBytes(t);
      for (let at = 0; at < bytes.byteLength; at += IO_CHUNK_BYTES) {
        writeAll(fd, bytes.subarray(at, Math.min(at + IO_CHUNK_BYTES, bytes.byteLength)));
      }
    }
  });
}

/** Fills `into` from `fd` at `position`, failing if the file ends first. */
function readExactly(file: string, fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.byteLength) {
    const len = Math.min(into.byteLength - done, IO_CHUNK_BYTES);
    const got = fs.readSync(fd, into, done, len, position + done);
    if (got === 0) throw new FileFormatError(`${file}: unexpected end of file (truncated?)`);
    done += got;
  }
}

interface ParsedHeader extends SafetensorsHeader {
  /** Absolute file position of the data buffer. */
  readonly dataStart: number;
}

function readHeaderFd(file: string, fd: number): ParsedHeader {
  const fileSize = fs.fstatSync(fd).size;
  if (fileSize < 8) throw new FileFormatError(`${file}: not a safetensors file (only ${fileSize} bytes)`);
  const prefix = Buffer.alloc(8);
  readExactly(file, fd, prefix, 0);
  const n = prefix.readBigUInt64LE(0);
  if (n < 2n || n > BigInt(MAX_HEADER_BYTES)) {
    throw new FileFormatError(`${file}: not a safetensors file (implausible header length ${n})`);
  }
  const headerLength = Number(n);
  if (8 + headerLength > fileSize) {
    throw new FileFormatError(
      `${file}: truncated safetensors file (header length ${headerLength} exceeds file size ${fileSize})`,
    );
  }
  const raw = Buffer.alloc(headerLength);
  readExactly(file, fd, raw, 8);
  if (raw[0] !== 0x7b /* '{' */)
    throw new FileFormatError(`${file}: not a safetensors file (header is not a JSON object)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    throw new FileFormatError(`${file}: invalid safetensors header JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!isRecord(parsed)) throw new FileFormatError(`${file}: safetensors header is not a JSON object`);

  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  const metadata: [string, string][] = [];
  const entries: [string, SafetensorsEntry][] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === METADATA_KEY) {
      if (!isRecord(value))
        throw new FileFormatError(`${file}: "${METADATA_KEY}" must be an object of strings`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string')
          throw new FileFormatError(`${file}: metadata value for "${k}" is not a string`);
        metadata.push([k, v]);
      }
      continue;
    }
    if (!isRecord(value))
      throw new FileFormatError(`${file}: header entry for tensor "${name}" is not an object`);
    const { dtype: code, shape, data_offsets: offsets } = value;
    if (typeof code !== 'string') throw new FileFormatError(`${file}: tensor "${name}" has no dtype`);
    const dtype = SAFETENSORS_TO_DTYPE.get(code);
    if (dtype === undefined) {
      throw new FileFormatError(
        `${file}: tensor "${name}" has unsupported dtype "${code}" ` +
          `(supported: ${[...SAFETENSORS_TO_DTYPE.keys()].join(', ')})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw new FileFormatError(`${file}: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isIndex) ||
      offsets[0] > offsets[1]
    ) {
      throw new FileFormatError(
        `${file}: tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const expected = sizeOf(shape) * BYTES_PER_ELEMENT[dtype];
    if (end - begin !== expected) {
      throw new FileFormatError(
        `${file}: tensor "${name}" of dtype ${code} and shape [${shape.join(', ')}] needs ${expected} bytes, ` +
          `but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataLength) {
      throw new FileFormatError(
        `${file}: tensor "${name}" data_offsets [${begin}, ${end}] go past the end of the data ` +
          `(${dataLength} bytes; file truncated?)`,
      );
    }
    entries.push([name, { dtype, shape: [...shape], begin, end }]);
  }
  // Order by position in the data (object key order would put integer-like names first).
  entries.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let prev: [string, SafetensorsEntry] | undefined;
  for (const e of entries) {
    if (e[1].begin === e[1].end) continue;
    if (prev && e[1].begin < prev[1].end) {
      throw new FileFormatError(
        `${file}: data of tensors "${prev[0]}" [${prev[1].begin}, ${prev[1].end}] and ` +
          `"${e[0]}" [${e[1].begin}, ${e[1].end}] overlap`,
      );
    }
    prev = e;
  }
  return { entries: new Map(entries), metadata: Object.fromEntries(metadata), dataStart };
}

/** Reads and validates the header of a safetensors file (no tensor data is read). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const { entries, metadata } = readHeaderFd(file, fd);
    return { entries, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a safetensors file: each selected tensor is read with positioned reads into a freshly
 * allocated (hence aligned) typed array. Works for files beyond 2 GiB.
 */
export function readSafetensors(
  file: string,
  options: ReadSafetensorsOptions = {},
): { tensors: Map<string, TensorData>; metadata: Record<string, string> } {
  assertLittleEndianHost();
  const fd = fs.openSync(file, 'r');
  try {
    const { entries, metadata, dataStart } = readHeaderFd(file, fd);
    const tensors = new Map<string, TensorData>();
    for (const [name, e] of entries) {
      if (options.names && !options.names(name)) continue;
      const data = allocate(e.dtype, sizeOf(e.shape));
      readExactly(
        file,
        fd,
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        dataStart + e.begin,
      );
      tensors.set(name, tensorData(e.dtype, e.shape, data));
    }
    return { tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}
