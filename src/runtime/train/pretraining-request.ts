import * as path from 'node:path';
import { readManifest } from '../../artifacts/manifest';
import { PretrainingRequest, pretrainingRunOptionsFor } from './recipe';
import type { RunOptions } from './run-options';

/** A complete RunOptions for pretraining, with `cae-onnx train`'s defaults where the request is silent. */
export function pretrainingRunOptions(r: PretrainingRequest): RunOptions {
  return pretrainingRunOptionsFor(readManifest(r.buildDir).config, {
    ...r,
    buildDir: path.resolve(r.buildDir),
  });
}
