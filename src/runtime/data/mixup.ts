import { Rng } from '../../random/rng';

/**
 * Mixup / CutMix with label smoothing for fine-tuning, as timm's `Mixup` in batch mode (the CAE
 * reference's fine-tuning recipe: mixup 0.8, cutmix 1.0, switch prob 0.5, smoothing 0.1): with
 * probability `prob` the batch is mixed with its reverse, by a Beta-drawn lambda; CutMix pastes a box
 * and corrects lambda to the pasted area. Every draw comes from the Rng the caller seeds per (seed,
 * step), so a step's batch is the same on every run and after --resume.
 */
export interface MixupConfig {
  readonly mixupAlpha: number;
  readonly cutmixAlpha: number;
  /** Probability that a batch is mixed at all. */
  readonly prob: number;
  /** Probability of CutMix rather than Mixup when both are on. */
  readonly switchProb: number;
  readonly labelSmoothing: number;
  readonly classes: number;
}

export const MIXUP_DEFAULTS = {
  mixupAlpha: 0.8,
  cutmixAlpha: 1.0,
  prob: 1,
  switchProb: 0.5,
  labelSmoothing: 0.1,
};

/** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted by U^(1/shape)). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (shape < 1) return sampleGamma(rng, shape + 1) * rng.uniform() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) from two Gamma draws. */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  return x / (x + sampleGamma(rng, b));
}

export interface MixedBatch {
  /** [B, C, H, W], mixed in place of the input's copy. */
  readonly images: Float32Array;
  /** [B, classes] soft targets (rows sum to 1). */
  readonly targets: Float32Array;
  /** The effective mixing weight of each image's own label (1 when the batch was not mixed). */
  readonly lambda: number;
  readonly kind: 'none' | 'mixup' | 'cutmix';
}

/**
 * Mixes a batch. images: [B, C, H, W] (not modified), labels: [B] class ids -> mixed images and soft
 * targets: y = lambda * smooth(label) + (1 - lambda) * smooth(reversed label).
 */
export function mixBatch(
  rng: Rng,
  images: Float32Array,
  shape: readonly [number, number, number, number],
  labels: ArrayLike<number>,
  cfg: MixupConfig,
): MixedBatch {
  const [b, ch, h, w] = shape;
  let lambda = 1;
  let kind: MixedBatch['kind'] = 'none';
  if ((cfg.mixupAlpha > 0 || cfg.cutmixAlpha > 0) && rng.uniform() < cfg.prob) {
    const cutmix =
      cfg.mixupAlpha > 0 && cfg.cutmixAlpha > 0 ? rng.uniform() < cfg.switchProb : cfg.cutmixAlpha > 0;
    kind = cutmix ? 'cutmix' : 'mixup';
    const alpha = cutmix ? cfg.cutmixAlpha : cfg.mixupAlpha;
    lambda = sampleBeta(rng, alpha, alpha);
  }
  const out = Float32Array.from(images);
  const plane = h * w;
  const per = ch * plane;
  if (kind === 'mixup') {
    for (let i = 0; i < b; i++) {
      const j = b - 1 - i;
      for (let k = 0; k < per; k++)
        out[i * per + k] = lambda * images[i * per + k] + (1 - lambda) * images[j * per + k];
    }
  } else if (kind === 'cutmix') {
    // timm's rand_bbox: a box of sqrt(1 - lambda) of each side around a uniform centre, clipped.
    const ratio = Math.sqrt(1 - lambda);
    const cutH = Math.floor(h * ratio);
    const cutW = Math.floor(w * ratio);
    const cy = rng.int(0, h - 1);
    const cx = rng.int(0, w - 1);
    const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
    const [y0, y1] = [clip(cy - Math.floor(cutH / 2), h), clip(cy + Math.floor(cutH / 2), h)];
    const [x0, x1] = [clip(cx - Math.floor(cutW / 2), w), clip(cx + Math.floor(cutW / 2), w)];
    for (let i = 0; i < b; i++) {
      const j = b - 1 - i;
      for (let c = 0; c < ch; c++)
        for (let y = y0; y < y1; y++)
          for (let x = x0; x < x1; x++)
            out[i * per + c * plane + y * w + x] = images[j * per + c * plane + y * w + x];
    }
    lambda = 1 - ((y1 - y0) * (x1 - x0)) / plane; // corrected to the pasted area
  }
  const off = cfg.labelSmoothing / cfg.classes;
  const on = 1 - cfg.labelSmoothing + off;
  const targets = new Float32Array(b * cfg.classes).fill(0);
  for (let i = 0; i < b; i++) {
    const row = i * cfg.classes;
    for (let k = 0; k < cfg.classes; k++) targets[row + k] = off;
    targets[row + labels[i]] += (on - off) * lambda;
    targets[row + labels[b - 1 - i]] += (on - off) * (1 - lambda);
  }
  return { images: out, targets, lambda, kind };
}
