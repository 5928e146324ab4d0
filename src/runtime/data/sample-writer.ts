import type { Rng } from '../../random/rng';
import {
  drawAugmentation,
  mapCoefficients,
  normalizeCoefficients,
  perChannel,
  resizedCropBilinear,
  writeChw,
} from './augment';
import { sampleRng } from './order';
import { randomErase } from './random-erasing';
import type { BuildSpec } from './types';

/** A decoded image: uint8 pixels [height, width, channels] (HWC). */
export interface DecodedImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** The arrays of one batch that samples are written into. */
export interface BatchArrays {
  /** [B, C, S, S] normalized. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  /** [B, C, t, t] tokenizer view, when the spec has a tokenizer. */
  readonly tokenizerImages?: Float32Array;
}

/** Per channel x * a + b. */
interface Coefficients {
  readonly a: ArrayLike<number>;
  readonly b: ArrayLike<number>;
}

/** What a sample's pixels depend on: geometry, normalization, augmentation, seed. */
export type SampleSpec = Omit<BuildSpec, 'source' | 'batchSize' | 'limit'>;

/**
 * Turns a decoded image into a training sample: its crop and flip drawn from the sample's own
 * generator (seed, epoch, dataset index), bilinear resize, normalization, random erasing, and the
 * tokenizer's view of the same crop. No file system here: the page uses it for its images too.
 */
export class SampleWriter {
  readonly norm: Coefficients;
  readonly tokenizerMap: Coefficients | null;

  constructor(private readonly spec: SampleSpec) {
    this.norm = normalizeCoefficients(
      perChannel(spec.mean, spec.channels, 'mean'),
      perChannel(spec.std, spec.channels, 'std'),
    );
    this.tokenizerMap = spec.tokenizer
      ? mapCoefficients(spec.channels, spec.tokenizer.scale, spec.tokenizer.shift)
      : null;
  }

  /** Empty arrays for a batch of `batchSize` samples. */
  allocate(batchSize: number): BatchArrays {
    const { channels, imageSize: s, tokenizer } = this.spec;
    return {
      images: new Float32Array(batchSize * channels * s * s),
      labels: new Int32Array(batchSize),
      tokenizerImages: tokenizer
        ? new Float32Array(batchSize * channels * tokenizer.size * tokenizer.size)
        : undefined,
    };
  }

  /** Writes dataset sample `index` of `epoch` (the decoded `image`) as sample k of `out` (labels aside). */
  write(image: DecodedImage, epoch: number, index: number, k: number, out: BatchArrays): void {
    const { channels, imageSize: s, augment, tokenizer } = this.spec;
    const { data, width, height, channels: from } = image;
    const rng = sampleRng(this.spec.seed, epoch, index);
    const draw = drawAugmentation(rng, width, height, augment);
    const pixels = resizedCropBilinear(data, width, height, from, draw.crop, s);
    writeChw(
      pixels,
      s,
      from,
      channels,
      draw.flip,
      this.norm.a,
      this.norm.b,
      out.images,
      k * channels * s * s,
    );
    this.erase(rng, out.images, k);
    if (tokenizer && out.tokenizerImages && this.tokenizerMap) {
      const t = tokenizer.size;
      const tok = resizedCropBilinear(data, width, height, from, draw.crop, t);
      const { a, b } = this.tokenizerMap;
      writeChw(tok, t, from, channels, draw.flip, a, b, out.tokenizerImages, k * channels * t * t);
    }
  }

  /** Random erasing of sample k (after normalization, as timm), drawn from the sample's own generator. */
  erase(rng: Rng, images: Float32Array, k: number): void {
    const { erase, channels, imageSize: s } = this.spec;
    if (!erase) return;
    const per = channels * s * s;
    randomErase(rng, images.subarray(k * per, (k + 1) * per), [channels, s, s], erase);
  }
}
