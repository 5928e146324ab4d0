import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildArtifacts } from '../../src/artifacts/build';
import { CaeConfig, resolveConfig } from '../../src/graph-builder/cae/config';
import { ADAMW_DEFAULTS } from '../../src/graph-builder/optim/adamw';

/** A CAE small enough for test runs: width 32, 2 encoder blocks, 1 regressor and 1 decoder block. */
export function smallCaeConfig(overrides: Partial<CaeConfig> = {}, preset = 'cae-tiny-28'): CaeConfig {
  return resolveConfig(preset, {
    batch: 8,
    embedDim: 32,
    depth: 2,
    numHeads: 2,
    decoderEmbedDim: 32,
    decoderNumHeads: 2,
    regressorDepth: 1,
    decoderDepth: 1,
    ...overrides,
  });
}

/** Builds a small CAE into a fresh temporary folder and returns it. */
export function smallBuild(overrides: Partial<CaeConfig> = {}, preset = 'cae-tiny-28'): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cae-small-')), 'build');
  buildArtifacts({
    outDir: dir,
    config: smallCaeConfig(overrides, preset),
    seed: 0,
    optimizer: { ...ADAMW_DEFAULTS, clipGradNorm: 3 },
  });
  return dir;
}
