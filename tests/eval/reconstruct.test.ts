import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initializeParams } from '../../src/artifacts/initialize-params';
import { readManifest } from '../../src/artifacts/manifest';
import { caeParams } from '../../src/graph-builder/cae/model';
import { reconstruct, writeReconstructionGrid } from '../../src/runtime/eval/reconstruct';
import { Rng } from '../../src/random/rng';
import { smallBuild } from '../helpers/small-cae';

test('the reconstruction figure: visible patches kept, masked ones gray in the input, a 4-column PNG', async () => {
  const manifest = readManifest(smallBuild());
  const c = manifest.config;
  const params = initializeParams(caeParams(c), 0);
  const rng = new Rng(1);
  const images = Float32Array.from({ length: 3 * 784 }, () => rng.uniform() * 2 - 1); // normalized with mean/std 0.5
  const r = await reconstruct(manifest, params, images, 3, 7);
  expect(r.original).toHaveLength(3);
  for (let b = 0; b < 3; b++) {
    const gray = r.maskedInput[b].filter((v) => v === 0.5).length;
    expect(gray).toBeGreaterThanOrEqual(c.numMasked * 16 - 16); // 24 masked 4x4 patches
    r.maskedInput[b].forEach((v, i) => {
      if (v !== 0.5) expect(r.maskedReconstruction[b][i]).toBe(r.original[b][i]);
    });
  }
  expect(r.maskedMse).toBeGreaterThan(0);
  expect(Number.isFinite(r.fullMse)).toBe(true);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'recon-')), 'grid.png');
  await writeReconstructionGrid(r, 1, 28, file);
  const meta = await sharp(file).metadata();
  expect([meta.width, meta.height]).toEqual([4 * 112 + 5 * 4, 3 * 112 + 4 * 4]);
});
