import { FileFormatError } from './file-format-error';
import * as fs from 'node:fs';
import { allocate } from '../graph-builder/core/dtype';
import { rawBytes, sizeOf, tensorData, TensorData } from '../graph-builder/core/tensor-data';
import { writeAll, writeFileAtomic } from './atomic-write';
import {
  assertLittleEndianHost,
  encodeSafetensorsHeader,
  headerLength,
  parseSafetensorsHeader,
  ReadSafetensorsOptions,
  SafetensorsHeader,
} from './safetensors-format';

export type { ReadSafetensorsOptions, SafetensorsEntry, SafetensorsHeader } from './safetensors-format';

/**
 * safetensors files on disk, streamed: the format itself (header encoding and validation) is in
 * safetensors-format.ts, shared with in-memory use.
 */

/** Single read/write calls are kept below Node's 2 GiB I/O limit. */
const IO_CHUNK_BYTES = 1 << 30;

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
    writeAll(fd, encodeSafetensorsHeader(file, list, metadata));
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
  const prefix = new Uint8Array(8);
  if (fileSize >= 8) readExactly(file, fd, prefix, 0);
  const length = headerLength(file, prefix, fileSize);
  const raw = new Uint8Array(length);
  readExactly(file, fd, raw, 8);
  const dataStart = 8 + length;
  return { ...parseSafetensorsHeader(file, raw, fileSize - dataStart), dataStart };
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
