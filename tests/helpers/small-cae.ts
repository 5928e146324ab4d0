import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildArtifacts } from '../../src/artifacts/build';
import { CaeConfig, resolveConfig } from '../../src/graph-builder/cae/config';
import { CAE_INPUTS } from '../../src/graph-builder/cae/model';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { ADAMW_DEFAULTS } from '../../src/graph-builder/optim/adamw';
import { Rng } from '../../src/random/rng';
import { makeMaskBatch } from '../../src/runtime/masking';

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

/** Exact-count block masks for a batch of c as the CAE's index feeds. */
export function maskFeeds(rng: Rng, c: CaeConfig): Record<string, TensorData> {
  const side = c.imageSize / c.patchSize;
  const masks = makeMaskBatch(rng, {
    batch: c.batch,
    grid: { height: side, width: side },
    numMasked: c.numMasked,
    kind: 'block',
  });
  return {
    [CAE_INPUTS.visibleIndex]: tensorData('int64', [c.batch, masks.numVisible], masks.visibleIndex),
    [CAE_INPUTS.maskedIndex]: tensorData('int64', [c.batch, masks.numMasked], masks.maskedIndex),
  };
}
