import { Rng } from '../../random/rng';

/** A crop rectangle in pixels of the original image. */
export interface CropBox {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** Random augmentation of the recipe: RandomResizedCrop, then an optional horizontal flip (p 0.5). */
export interface AugmentOptions {
  readonly scale: readonly [number, number];
  readonly ratio: readonly [number, number];
  readonly flip: boolean;
}

export const DEFAULT_SCALE: readonly [number, number] = [0.08, 1];
export const DEFAULT_RATIO: readonly [number, number] = [3 / 4, 4 / 3];
const ATTEMPTS = 10;

/** Python's `round` (ties to even), used by torchvision to turn sizes into pixels. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export function checkAugmentOptions(a: AugmentOptions): void {
  const [s0, s1] = a.scale;
  const [r0, r1] = a.ratio;
  if (!(Number.isFinite(s0) && Number.isFinite(s1) && s0 > 0 && s0 <= s1 && s1 <= 1)) {
    throw new Error(`augment.scale must satisfy 0 < lo <= hi <= 1, got [${s0}, ${s1}]`);
  }
  if (!(Number.isFinite(r0) && Number.isFinite(r1) && r0 > 0 && r0 <= r1)) {
    throw new Error(`augment.ratio must satisfy 0 < lo <= hi, got [${r0}, ${r1}]`);
  }
}

/**
 * torchvision `RandomResizedCrop.get_params`: up to 10 attempts with area fraction ~ U(scale) and
 * aspect ratio (w / h) log-uniform in `ratio`; the first crop that fits is placed uniformly. If none
 * fits, the central crop of the whole image, clamped to the ratio range. Draw order per attempt:
 * area, ratio, then (on success) top, left, as in torchvision.
 */
export function randomResizedCropParams(
  rng: Rng,
  width: number,
  height: number,
  scale: readonly [number, number] = DEFAULT_SCALE,
  ratio: readonly [number, number] = DEFAULT_RATIO,
): CropBox {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const aspect = Math.exp(logLo + (logHi - logLo) * rng.uniform());
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(0, height - h);
      const left = rng.int(0, width - w);
      return { top, left, height: h, width: w };
    }
  }
  return centralCrop(width, height, ratio);
}

/** The fallback of `get_params`: the whole image, cut down to the nearest aspect ratio in range. */
export function centralCrop(width: number, height: number, ratio: readonly [number, number]): CropBox {
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** The random decisions for one sample. */
export interface SampleDraw {
  readonly crop: CropBox;
  readonly flip: boolean;
}

/** Crop then flip; with `augment` false the whole image, unflipped, and nothing is drawn. */
export function drawAugmentation(
  rng: Rng,
  width: number,
  height: number,
  augment: AugmentOptions | false,
): SampleDraw {
  if (augment === false) return { crop: { top: 0, left: 0, height, width }, flip: false };
  const crop = randomResizedCropParams(rng, width, height, augment.scale, augment.ratio);
  const flip = augment.flip && rng.uniform() < 0.5;
  return { crop, flip };
}

function axisTaps(
  inSize: number,
  outSize: number,
  offset: number,
): { i0: Int32Array; i1: Int32Array; w: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    let src = (o + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    const lo = Math.floor(src);
    i0[o] = offset + lo;
    i1[o] = offset + (lo < inSize - 1 ? lo + 1 : lo);
    w[o] = src - lo;
  }
  return { i0, i1, w };
}

/**
 * Bilinear resize of the `crop` of an interleaved (HWC) uint8 image to outSize x outSize, with
 * PyTorch's `align_corners=False` sampling (no antialiasing). Returns HWC float pixels in [0, 255].
 */
export function resizedCropBilinear(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  crop: CropBox,
  outSize: number,
): Float32Array {
  if (src.length < width * height * channels)
    throw new Error('image buffer smaller than width*height*channels');
  if (crop.left < 0 || crop.top < 0 || crop.left + crop.width > width || crop.top + crop.height > height) {
    throw new Error(`crop ${JSON.stringify(crop)} outside a ${width}x${height} image`);
  }
  const xs = axisTaps(crop.width, outSize, crop.left);
  const ys = axisTaps(crop.height, outSize, crop.top);
  const out = new Float32Array(outSize * outSize * channels);
  const stride = width * channels;
  let k = 0;
  for (let oy = 0; oy < outSize; oy++) {
    const r0 = ys.i0[oy] * stride;
    const r1 = ys.i1[oy] * stride;
    const wy = ys.w[oy];
    for (let ox = 0; ox < outSize; ox++) {
      const c0 = xs.i0[ox] * channels;
      const c1 = xs.i1[ox] * channels;
      const wx = xs.w[ox];
      for (let c = 0; c < channels; c++) {
        const top = src[r0 + c0 + c] + (src[r0 + c1 + c] - src[r0 + c0 + c]) * wx;
        const bottom = src[r1 + c0 + c] + (src[r1 + c1 + c] - src[r1 + c0 + c]) * wx;
        out[k++] = top + (bottom - top) * wy;
      }
    }
  }
  return out;
}

/**
 * Writes HWC pixels in [0, 255] as CHW float32 `a[c] * pixel + b[c]` into `out` at `offset`,
 * mirrored left-right when `flip`. A single source channel is repeated over `outChannels`.
 */
export function writeChw(
  pixels: ArrayLike<number>,
  size: number,
  srcChannels: number,
  outChannels: number,
  flip: boolean,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  out: Float32Array,
  offset: number,
): void {
  if (srcChannels !== outChannels && srcChannels !== 1) {
    throw new Error(`cannot map ${srcChannels} channels to ${outChannels}`);
  }
  const plane = size * size;
  for (let c = 0; c < outChannels; c++) {
    const sc = srcChannels === 1 ? 0 : c;
    const ac = a[c];
    const bc = b[c];
    const base = offset + c * plane;
    for (let y = 0; y < size; y++) {
      const row = y * size;
      for (let x = 0; x < size; x++) {
        const sx = flip ? size - 1 - x : x;
        out[base + row + x] = pixels[(row + sx) * srcChannels + sc] * ac + bc;
      }
    }
  }
}

/** Coefficients of `(pixel / 255 - mean) / std` per channel, for `writeChw`. */
export function normalizeCoefficients(
  mean: readonly number[],
  std: readonly number[],
): { a: Float64Array; b: Float64Array } {
  if (mean.length !== std.length)
    throw new Error(`mean has ${mean.length} entries but std has ${std.length}`);
  const a = new Float64Array(mean.length);
  const b = new Float64Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    if (!(Number.isFinite(std[c]) && std[c] !== 0 && Number.isFinite(mean[c]))) {
      throw new Error(
        `mean/std must be finite with std != 0, got mean ${mean[c]} std ${std[c]} for channel ${c}`,
      );
    }
    a[c] = 1 / (255 * std[c]);
    b[c] = -mean[c] / std[c];
  }
  return { a, b };
}

/** Coefficients of `scale * pixel / 255 + shift` (the tokenizer's pixel mapping), for `writeChw`. */
export function mapCoefficients(
  channels: number,
  scale: number,
  shift: number,
): { a: Float64Array; b: Float64Array } {
  return { a: new Float64Array(channels).fill(scale / 255), b: new Float64Array(channels).fill(shift) };
}

/** Repeats a single mean / std value over the channels. */
export function perChannel(values: readonly number[], channels: number, name: string): number[] {
  if (values.length === channels) return [...values];
  if (values.length === 1) return new Array<number>(channels).fill(values[0]);
  throw new Error(`${name} must have 1 or ${channels} entries, got ${values.length}`);
}
