import { Rng } from '../../random/rng';
import { blockMask, BlockMaskOptions } from './block-mask';
import { randomMask } from './random-mask';
import { checkGrid, checkInteger, MaskGrid } from './validate';

/** Visible (0) and masked (1) positions of a 0/1 mask, each ascending. */
export function maskIndices(mask: Uint8Array): { visible: number[]; masked: number[] } {
  const visible: number[] = [];
  const masked: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    if (v === 0) visible.push(i);
    else if (v === 1) masked.push(i);
    else throw new Error(`mask must hold only 0 and 1, got ${v} at ${i}`);
  }
  return { visible, masked };
}

export type MaskKind = 'block' | 'random';

export interface MaskBatchSpec {
  readonly batch: number;
  readonly grid: MaskGrid;
  readonly numMasked: number;
  readonly kind: MaskKind;
  /** Options of block masking; ignored for `kind: 'random'`. */
  readonly block?: BlockMaskOptions;
}

export interface MaskBatch {
  /** [batch, numVisible] row-major, each row ascending. */
  readonly visibleIndex: BigInt64Array;
  /** [batch, numMasked] row-major, each row ascending. */
  readonly maskedIndex: BigInt64Array;
  readonly numVisible: number;
  readonly numMasked: number;
}

/**
 * One mask per sample, as int64 index tensors of static shape: the visible and masked rows of one
 * sample partition 0..height*width-1.
 */
export function makeMaskBatch(rng: Rng, spec: MaskBatchSpec): MaskBatch {
  const { batch, grid, numMasked, kind } = spec;
  checkInteger('batch', batch, 1);
  const n = checkGrid(grid);
  checkInteger('numMasked', numMasked, 0, n);
  if (kind !== 'block' && kind !== 'random') {
    throw new Error(`kind must be 'block' or 'random', got ${String(kind)}`);
  }
  const numVisible = n - numMasked;
  const visibleIndex = new BigInt64Array(batch * numVisible);
  const maskedIndex = new BigInt64Array(batch * numMasked);
  for (let b = 0; b < batch; b++) {
    const mask =
      kind === 'block' ? blockMask(rng, grid, numMasked, spec.block) : randomMask(rng, n, numMasked);
    let v = b * numVisible;
    let m = b * numMasked;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) visibleIndex[v++] = BigInt(i);
      else maskedIndex[m++] = BigInt(i);
    }
  }
  return { visibleIndex, maskedIndex, numVisible, numMasked };
}
