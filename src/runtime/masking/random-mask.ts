import { Rng } from '../../random/rng';
import { checkInteger, pickDistinct } from './validate';

/**
 * A uniformly random subset of exactly `numMasked` of `numPatches` patches, as a 0/1 mask
 * (1 = masked). Uses `numMasked` draws of `rng` (partial Fisher-Yates).
 */
export function randomMask(rng: Rng, numPatches: number, numMasked: number): Uint8Array {
  checkInteger('numPatches', numPatches, 1);
  checkInteger('numMasked', numMasked, 0, numPatches);
  const mask = new Uint8Array(numPatches);
  const pool = Int32Array.from({ length: numPatches }, (_, i) => i);
  for (const i of pickDistinct(rng, pool, numMasked)) mask[i] = 1;
  return mask;
}
