import { AugmentOptions, DEFAULT_RATIO, DEFAULT_SCALE } from './augment';
import type { LoaderSource } from './types';

/** Crops of the small presets (28-32 px digits and clothes): a 0.08 crop of 28 px is a few pixels. */
const SMALL_IMAGE_SCALE: readonly [number, number] = [0.35, 1];

/**
 * The training augmentation of pretraining and fine-tuning alike: RandomResizedCrop with the paper's
 * scale (0.08, 1), milder for the cae-tiny presets, and flips for image folders (photos) but not for
 * IDX digits; either can be given.
 */
export function defaultAugment(
  preset: string,
  source: LoaderSource['kind'],
  given: { readonly scale?: readonly [number, number]; readonly flip?: boolean } = {},
): AugmentOptions {
  return {
    scale: given.scale ?? (preset.startsWith('cae-tiny') ? SMALL_IMAGE_SCALE : DEFAULT_SCALE),
    ratio: DEFAULT_RATIO,
    flip: given.flip ?? source === 'folder',
  };
}
