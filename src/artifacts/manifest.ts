import { FileFormatError } from './file-format-error';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeFileAtomic } from './atomic-write';
import { Manifest, MANIFEST_FILE, manifestText, parseManifest } from './manifest-format';

export * from './manifest-format';

export function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomic(path.join(dir, MANIFEST_FILE), (fd) => writeAll(fd, Buffer.from(manifestText(manifest))));
}

export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file))
    throw new FileFormatError(`${dir} has no ${MANIFEST_FILE}: not a cae-onnx build folder`);
  return parseManifest(fs.readFileSync(file, 'utf8'), file);
}
