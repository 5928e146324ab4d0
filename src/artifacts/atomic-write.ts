import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writes a file so that readers only ever see the old or the new complete content: write to a
 * temporary sibling, fsync, rename over the target. `write` gets the open file descriptor.
 */
export function writeFileAtomic(target: string, write: (fd: number) => void): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

/** Writes all of `bytes` at the descriptor's current position (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}
