/** The page's zip writer, read back by an independent reader (yauzl) and checked against zlib's CRC-32. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { crc32, zipStored } from '../../src/artifacts/zip-writer';
import { readZip } from '../helpers/unzip';

test('crc32 equals zlib.crc32', () => {
  const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 251);
  expect(crc32(bytes)).toBe(zlib.crc32(bytes));
  expect(crc32(new Uint8Array(0))).toBe(0);
  expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
});

test('an archive of nested, empty and UTF-8 named files reads back entry by entry', async () => {
  const files: [string, Uint8Array][] = [
    ['run/build/manifest.json', new TextEncoder().encode('{"format": 1}\n')],
    [
      'run/checkpoints/step-00000020/params.safetensors',
      Uint8Array.from({ length: 5000 }, (_, i) => i % 256),
    ],
    ['run/empty.txt', new Uint8Array(0)],
    ['run/bilder/straße.png', Uint8Array.of(137, 80, 78, 71)],
  ];
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cae-zip-')), 'a.zip');
  fs.writeFileSync(file, zipStored(files));
  const read = await readZip(file);
  expect([...read.keys()]).toEqual(files.map(([n]) => n));
  for (const [name, bytes] of files) expect(new Uint8Array(read.get(name)!)).toEqual(bytes);
});

test('entry names must be relative paths without ..', () => {
  for (const bad of ['/etc/passwd', 'run/../../x', ''])
    expect(() => zipStored([[bad, new Uint8Array(1)]])).toThrow(/relative path/);
});
