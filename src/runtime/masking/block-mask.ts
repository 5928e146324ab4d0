import { Rng } from '../../random/rng';
import { checkGrid, checkInteger, MaskGrid, pickDistinct } from './validate';

export interface BlockMaskOptions {
  /** Smallest target block area in patches (reference `min_num_patches`, default 16). */
  readonly minBlock?: number;
  /** Smallest height/width aspect ratio of a block (default 0.3). */
  readonly minAspect?: number;
  /** Largest aspect ratio (default 1 / minAspect). */
  readonly maxAspect?: number;
}

/** Attempts per round, as in the reference. */
const ATTEMPTS_PER_ROUND = 10;
/** Rounds in a row that add nothing before falling back to single cells. */
const MAX_EMPTY_ROUNDS = 10;

/**
 * Block-wise masking of BEiT / CAE (`furnace/masking_generator.py`): rectangles of random area and
 * aspect ratio are masked until exactly `numMasked` cells of the `grid` are masked. Returns a
 * row-major 0/1 mask of length height * width (1 = masked).
 *
 * Deviations from the reference, which may stop early with fewer masked cells (we need exactly
 * `numMasked` every time so that shapes are static):
 * - the minimum block area is scaled down on small budgets to
 *   `min(minBlock, max(1, floor(numMasked / 4)))`, so that small grids still get several blocks;
 * - the target area of a round is drawn from U(min(minBlock, cap), cap), where cap = cells still to
 *   mask, instead of U(minBlock, cap) (an inverted range when cap < minBlock);
 * - a round of 10 attempts that adds nothing is retried instead of ending the loop; after
 *   MAX_EMPTY_ROUNDS such rounds in a row (e.g. no rectangle strictly smaller than the grid can
 *   still fit the remaining budget, or the grid is a single row/column), the remaining cells are
 *   masked one by one, chosen uniformly among the unmasked cells.
 * Also the reference's `max_num_patches` cap (default: no cap) is not offered, and rounding of
 * h and w is half-away-from-zero rather than Python's half-to-even (ties have probability zero).
 */
export function blockMask(
  rng: Rng,
  grid: MaskGrid,
  numMasked: number,
  options: BlockMaskOptions = {},
): Uint8Array {
  const n = checkGrid(grid);
  checkInteger('numMasked', numMasked, 0, n);
  const minBlock = options.minBlock ?? 16;
  checkInteger('minBlock', minBlock, 1);
  const minAspect = options.minAspect ?? 0.3;
  if (!(Number.isFinite(minAspect) && minAspect > 0)) {
    throw new Error(`minAspect must be a finite number > 0, got ${minAspect}`);
  }
  const maxAspect = options.maxAspect ?? 1 / minAspect;
  if (!(Number.isFinite(maxAspect) && maxAspect >= minAspect)) {
    throw new Error(`maxAspect must be a finite number >= minAspect (${minAspect}), got ${maxAspect}`);
  }

  const { height: H, width: W } = grid;
  const mask = new Uint8Array(n);
  const logLo = Math.log(minAspect);
  const logHi = Math.log(maxAspect);
  const minArea = Math.min(minBlock, Math.max(1, Math.floor(numMasked / 4)));

  let count = 0;
  let emptyRounds = 0;
  while (count < numMasked && emptyRounds < MAX_EMPTY_ROUNDS) {
    const cap = numMasked - count;
    const lo = Math.min(minArea, cap);
    let delta = 0;
    for (let attempt = 0; attempt < ATTEMPTS_PER_ROUND && delta === 0; attempt++) {
      const targetArea = lo + (cap - lo) * rng.uniform();
      const aspect = Math.exp(logLo + (logHi - logLo) * rng.uniform());
      const h = Math.round(Math.sqrt(targetArea * aspect));
      const w = Math.round(Math.sqrt(targetArea / aspect));
      if (h >= H || w >= W) continue;
      const top = rng.int(0, H - h);
      const left = rng.int(0, W - w);
      let fresh = 0;
      for (let i = top; i < top + h; i++) {
        for (let j = left; j < left + w; j++) fresh += 1 - mask[i * W + j];
      }
      if (fresh > 0 && fresh <= cap) {
        for (let i = top; i < top + h; i++) mask.fill(1, i * W + left, i * W + left + w);
        delta = fresh;
      }
    }
    count += delta;
    emptyRounds = delta === 0 ? emptyRounds + 1 : 0;
  }

  if (count < numMasked) {
    const unmasked = new Int32Array(n - count);
    let k = 0;
    for (let i = 0; i < n; i++) if (mask[i] === 0) unmasked[k++] = i;
    for (const i of pickDistinct(rng, unmasked, numMasked - count)) mask[i] = 1;
  }
  return mask;
}
