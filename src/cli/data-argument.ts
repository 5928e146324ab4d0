import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoaderSource } from '../runtime/data/types';
import { UserError } from './run-command';

/**
 * A data argument: `mnist:train` / `mnist:test`, a folder of images (class subfolders), or an IDX image
 * file whose labels sit beside it (`*-images-idx3-ubyte[.gz]` -> `*-labels-idx1-ubyte[.gz]`).
 */
export function parseDataArgument(value: string, flag: string): LoaderSource {
  if (value === 'mnist:train' || value === 'mnist:test')
    return { kind: 'mnist', split: value.slice(6) as 'train' | 'test' };
  if (!fs.existsSync(value)) throw new UserError(`${flag} ${value} does not exist`);
  if (fs.statSync(value).isDirectory()) return { kind: 'folder', dir: path.resolve(value) };
  const labels = value.replace('images-idx3', 'labels-idx1');
  if (labels === value || !fs.existsSync(labels)) {
    throw new UserError(`${flag} ${value}: no labels file beside it (expected ${path.basename(labels)})`);
  }
  return { kind: 'idx', images: path.resolve(value), labels: path.resolve(labels) };
}
