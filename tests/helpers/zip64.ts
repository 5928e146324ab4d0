import * as fs from 'node:fs';

/** A zip entry to write: its name and bytes, or `sparse` bytes of zeros left as a hole in the file. */
export type Zip64Entry = { name: string; data: Uint8Array } | { name: string; sparse: number };

const MAX32 = 0xffffffff;

function crc32(data: Uint8Array): number {
  let crc = ~0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/**
 * Writes a stored (uncompressed) zip with ZIP64 records, as torch.save does for files over 4 GiB:
 * every size and offset goes in the ZIP64 extra field, and the directory is found through the ZIP64
 * end records. Sparse entries are holes, so a file of several GiB takes no disk space. Their CRC is
 * not computed (they are never read).
 */
export function writeZip64(file: string, entries: readonly Zip64Entry[]): void {
  const fd = fs.openSync(file, 'w');
  let offset = 0;
  const central: Buffer[] = [];
  const write = (b: Buffer) => {
    fs.writeSync(fd, b, 0, b.length, offset);
    offset += b.length;
  };
  const zip64Extra = (size: number, local: number | undefined) => {
    const extra = Buffer.alloc(local === undefined ? 20 : 28);
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(extra.length - 4, 2);
    extra.writeBigUInt64LE(BigInt(size), 4); // uncompressed
    extra.writeBigUInt64LE(BigInt(size), 12); // compressed
    if (local !== undefined) extra.writeBigUInt64LE(BigInt(local), 20);
    return extra;
  };
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const size = 'data' in e ? e.data.length : e.sparse;
    const crc = 'data' in e ? crc32(e.data) : 0;
    const start = offset;
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(45, 4); // version needed: ZIP64
    header.writeUInt32LE(crc, 14);
    header.writeUInt32LE(MAX32, 18);
    header.writeUInt32LE(MAX32, 22);
    header.writeUInt16LE(name.length, 26);
    const extra = zip64Extra(size, undefined);
    header.writeUInt16LE(extra.length, 28);
    write(Buffer.concat([header, name, extra]));
    if ('data' in e) write(Buffer.from(e.data));
    else offset += e.sparse;
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(45, 4);
    entry.writeUInt16LE(45, 6);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(MAX32, 20);
    entry.writeUInt32LE(MAX32, 24);
    entry.writeUInt16LE(name.length, 28);
    const centralExtra = zip64Extra(size, start);
    entry.writeUInt16LE(centralExtra.length, 30);
    entry.writeUInt32LE(MAX32, 42);
    central.push(Buffer.concat([entry, name, centralExtra]));
  }
  const directory = Buffer.concat(central);
  const directoryAt = offset;
  write(directory);
  const end64At = offset;
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(0x06064b50, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeUInt16LE(45, 12);
  end64.writeUInt16LE(45, 14);
  end64.writeBigUInt64LE(BigInt(entries.length), 24);
  end64.writeBigUInt64LE(BigInt(entries.length), 32);
  end64.writeBigUInt64LE(BigInt(directory.length), 40);
  end64.writeBigUInt64LE(BigInt(directoryAt), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(end64At), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(MAX32, 12);
  end.writeUInt32LE(MAX32, 16);
  write(Buffer.concat([end64, locator, end]));
  fs.closeSync(fd);
}
