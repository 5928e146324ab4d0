import type { Rng } from '../../random/rng';
import { roundHalfEven } from './augment';

/**
 * Random erasing as timm's `RandomErasing` in 'pixel' mode (the fine-tuning recipe: probability
 * 0.25, area 2%-1/3 of the image, aspect 0.3-3.3, one box): with probability `prob`, up to ten tries
 * to fit a box, which is filled with standard-normal noise (the image is already normalized).
 */
export interface RandomErasingConfig {
  readonly prob: number;
  readonly minArea: number;
  readonly maxArea: number;
  readonly minAspect: number;
}

export const RANDOM_ERASING_DEFAULTS: RandomErasingConfig = {
  prob: 0.25,
  minArea: 0.02,
  maxArea: 1 / 3,
  minAspect: 0.3,
};

/** The erased box, or undefined when the sample is left alone. */
export interface ErasedBox {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * Erases in place one image [C, H, W] (normalized) with draws from `rng` (the sample's own
 * generator, so the result does not depend on the worker). Returns the box, if any.
 */
export function randomErase(
  rng: Rng,
  image: Float32Array,
  [channels, h, w]: readonly [number, number, number],
  cfg: RandomErasingConfig = RANDOM_ERASING_DEFAULTS,
): ErasedBox | undefined {
  if (rng.uniform() >= cfg.prob) return undefined;
  const area = h * w;
  const logLo = Math.log(cfg.minAspect);
  const logHi = Math.log(1 / cfg.minAspect);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = (cfg.minArea + (cfg.maxArea - cfg.minArea) * rng.uniform()) * area;
    const aspect = Math.exp(logLo + (logHi - logLo) * rng.uniform());
    const height = roundHalfEven(Math.sqrt(target * aspect)); // Python's round, as timm
    const width = roundHalfEven(Math.sqrt(target / aspect));
    if (width >= w || height >= h || width < 1 || height < 1) continue;
    const top = rng.int(0, h - height);
    const left = rng.int(0, w - width);
    for (let c = 0; c < channels; c++)
      for (let y = top; y < top + height; y++)
        for (let x = left; x < left + width; x++) image[c * h * w + y * w + x] = rng.normal();
    return { top, left, height, width };
  }
  return undefined;
}
