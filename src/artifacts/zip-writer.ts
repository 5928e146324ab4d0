/**
 * A zip archive of files held in memory, stored without compression (weights hardly compress, and
 * the page must stay quick): local headers, data, central directory, end record (PKWARE APPNOTE 6.3).
 * No file system here: the browser page packs its run folder with it.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32 (IEEE) of `bytes`, as zip records it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The most a plain (non-zip64) archive can hold, in bytes and entries. */
const ZIP32_LIMIT = 0xffffffff;
const ZIP32_ENTRIES = 0xffff;
/** DOS date of 1980-01-01 00:00 (the archive does not record times). */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** Flag bit 11: names are UTF-8. */
const UTF8_NAMES = 1 << 11;

/** `files` (path inside the archive, with '/' separators -> content) as one zip archive. */
export function zipStored(files: Iterable<readonly [string, Uint8Array]>): Uint8Array {
  const encoder = new TextEncoder();
  const entries = [...files].map(([name, data]) => {
    if (name.length === 0 || name.startsWith('/') || name.split('/').includes('..'))
      throw new Error(`zip entry name "${name}" must be a relative path without ".."`);
    return { name: encoder.encode(name), data, crc: crc32(data), offset: 0 };
  });
  if (entries.length > ZIP32_ENTRIES) throw new Error(`a zip archive holds at most ${ZIP32_ENTRIES} files`);
  let size = 22;
  for (const e of entries) size += 30 + e.name.length + e.data.length + 46 + e.name.length;
  if (size > ZIP32_LIMIT) throw new Error(`the archive would exceed 4 GiB (${size} bytes)`);

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (v: number) => {
    view.setUint16(at, v, true);
    at += 2;
  };
  const u32 = (v: number) => {
    view.setUint32(at, v >>> 0, true);
    at += 4;
  };
  const bytes = (b: Uint8Array) => {
    out.set(b, at);
    at += b.length;
  };
  /** The fields local and central headers share: version, flags, method, time, sizes, name length. */
  const common = (e: (typeof entries)[number]) => {
    u16(20); // version needed: 2.0
    u16(UTF8_NAMES);
    u16(0); // stored
    u16(0); // time
    u16(DOS_DATE);
    u32(e.crc);
    u32(e.data.length);
    u32(e.data.length);
    u16(e.name.length);
    u16(0); // extra
  };
  for (const e of entries) {
    e.offset = at;
    u32(0x04034b50);
    common(e);
    bytes(e.name);
    bytes(e.data);
  }
  const directory = at;
  for (const e of entries) {
    u32(0x02014b50);
    u16(20); // made by: 2.0
    common(e);
    u16(0); // comment
    u16(0); // disk
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(e.offset);
    bytes(e.name);
  }
  const directorySize = at - directory;
  u32(0x06054b50);
  u16(0);
  u16(0);
  u16(entries.length);
  u16(entries.length);
  u32(directorySize);
  u32(directory);
  u16(0); // comment
  return out;
}
