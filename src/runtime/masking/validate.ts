import type { Rng } from '../../random/rng';

/** Patch grid of a masked image: `height` rows by `width` columns, masks are row-major. */
export interface MaskGrid {
  readonly height: number;
  readonly width: number;
}

export function checkInteger(name: string, value: number, min: number, max = Infinity): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new Error(`${name} must be an integer ${range}, got ${value}`);
  }
}

/** Checks the grid and returns its number of cells. */
export function checkGrid(grid: MaskGrid): number {
  checkInteger('grid.height', grid.height, 1);
  checkInteger('grid.width', grid.width, 1);
  return grid.height * grid.width;
}

/** Picks `count` distinct entries of `pool` uniformly at random (partial Fisher-Yates, shuffles `pool`). */
export function pickDistinct(rng: Rng, pool: Int32Array, count: number): Int32Array {
  const n = pool.length;
  for (let i = 0; i < count; i++) {
    const j = rng.int(i, n - 1);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.subarray(0, count);
}
