import type { onnx } from 'onnx-proto';
import type { Manifest } from '../../artifacts/manifest-format';
import { gridOf } from '../../graph-builder/cae/config';
import { CAE_INPUTS } from '../../graph-builder/cae/model';
import { buildReconstructionGraph } from '../../graph-builder/cae/reconstruct';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { toModelProto } from '../../graph-builder/onnx/to-model-proto';
import { Rng } from '../../random/rng';
import { makeMaskBatch } from '../masking';

/*
 * The reconstruction figure: the graph with a run's weights and its inputs, and the figure's pixels
 * from the graph's predictions (no file system or session: the page uses it too).
 */

/**
 * The reconstruction graph for `batch` images with the weights it uses from `params`, and its
 * inputs for `images` [B, C, H, W] (normalized) with masks drawn from `seed`.
 */
export function reconstructionModel(
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  images: Float32Array,
  batch: number,
  seed: number,
): { model: onnx.ModelProto; feeds: Record<string, TensorData>; maskedIndex: BigInt64Array } {
  const c = manifest.config;
  const graph = buildReconstructionGraph(c, batch);
  const used = new Map(graph.params.map((q) => [q.name, params.get(q.name)!]));
  const model = toModelProto(graph, { paramsAs: 'initializers', paramValues: used, opset: manifest.opset });
  const masks = makeMaskBatch(new Rng(seed), {
    batch,
    grid: { height: manifest.grid.side, width: manifest.grid.side },
    numMasked: c.numMasked,
    kind: c.maskKind,
  });
  const feeds = {
    [CAE_INPUTS.images]: tensorData('float32', [batch, c.inChans, c.imageSize, c.imageSize], images),
    [CAE_INPUTS.visibleIndex]: tensorData('int64', [batch, masks.numVisible], masks.visibleIndex),
    [CAE_INPUTS.maskedIndex]: tensorData('int64', [batch, c.numMasked], masks.maskedIndex),
  };
  return { model, feeds, maskedIndex: masks.maskedIndex };
}

/** Per-sample images in [0, 1], [C, H, W] each: the four columns of the figure. */
export interface Reconstructions {
  readonly original: Float32Array[];
  readonly maskedInput: Float32Array[];
  readonly maskedReconstruction: Float32Array[];
  readonly fullReconstruction: Float32Array[];
  /** Mean squared error (in [0, 1] pixels) on the masked patches, and over the full reconstruction. */
  readonly maskedMse: number;
  readonly fullMse: number;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * Turns the reconstruction graph's predictions back into pixels: per-patch normalized predictions are
 * rescaled with the original patch's mean and variance (as MAE's figures do), then the image
 * normalization is undone. images: [B, C, H, W] normalized; maskedIndex: [B, numMasked];
 * maskedPred: [B, numMasked, patchDim]; fullPred: [B, N, patchDim].
 */
export function reconstructionPixels(
  manifest: Manifest,
  images: Float32Array,
  batch: number,
  maskedIndex: BigInt64Array,
  maskedPred: Float32Array,
  fullPred: Float32Array,
): Reconstructions {
  const c = manifest.config;
  const { side, numPatches, patchDim } = gridOf(c);
  const p = c.patchSize;
  const size = c.imageSize;
  const { mean, std } = manifest.normalization;
  const channelMean = (ch: number) => mean[Math.min(ch, mean.length - 1)];
  const channelStd = (ch: number) => std[Math.min(ch, std.length - 1)];
  const pixel = (b: number, ch: number, y: number, x: number) =>
    images[((b * c.inChans + ch) * size + y) * size + x];
  /** Visits the pixels of patch n in MAE order (p, q, channel), with their index in the patch vector. */
  const forPatch = (n: number, f: (k: number, ch: number, y: number, x: number) => void) => {
    const r = Math.floor(n / side);
    const col = n % side;
    for (let i = 0; i < p; i++)
      for (let j = 0; j < p; j++)
        for (let ch = 0; ch < c.inChans; ch++) f((i * p + j) * c.inChans + ch, ch, r * p + i, col * p + j);
  };
  const toPixels = (b: number, n: number, pred: Float32Array, offset: number, into: Float32Array) => {
    let mu = 0;
    let scale = 1;
    if (c.normPixLoss) {
      let sum = 0;
      forPatch(n, (_k, ch, y, x) => (sum += pixel(b, ch, y, x)));
      mu = sum / patchDim;
      let sq = 0;
      forPatch(n, (_k, ch, y, x) => (sq += (pixel(b, ch, y, x) - mu) ** 2));
      scale = Math.sqrt(sq / (patchDim - 1) + 1e-6);
    }
    forPatch(n, (k, ch, y, x) => {
      const normalized = pred[offset + k] * scale + mu;
      into[(ch * size + y) * size + x] = clamp01(normalized * channelStd(ch) + channelMean(ch));
    });
  };
  const result: Reconstructions = {
    original: [],
    maskedInput: [],
    maskedReconstruction: [],
    fullReconstruction: [],
    maskedMse: 0,
    fullMse: 0,
  };
  let maskedSq = 0;
  let fullSq = 0;
  const per = c.inChans * size * size;
  for (let b = 0; b < batch; b++) {
    const original = new Float32Array(per);
    for (let ch = 0; ch < c.inChans; ch++) {
      for (let i = 0; i < size * size; i++)
        original[ch * size * size + i] = clamp01(
          images[b * per + ch * size * size + i] * channelStd(ch) + channelMean(ch),
        );
    }
    const maskedInput = original.slice();
    const maskedReconstruction = original.slice();
    const fullReconstruction = new Float32Array(per);
    for (let k = 0; k < c.numMasked; k++) {
      const n = Number(maskedIndex[b * c.numMasked + k]);
      forPatch(n, (_i, ch, y, x) => (maskedInput[(ch * size + y) * size + x] = 0.5));
      toPixels(b, n, maskedPred, (b * c.numMasked + k) * patchDim, maskedReconstruction);
      forPatch(
        n,
        (_i, ch, y, x) =>
          (maskedSq +=
            (maskedReconstruction[(ch * size + y) * size + x] - original[(ch * size + y) * size + x]) ** 2),
      );
    }
    for (let n = 0; n < numPatches; n++)
      toPixels(b, n, fullPred, (b * numPatches + n) * patchDim, fullReconstruction);
    for (let i = 0; i < per; i++) fullSq += (fullReconstruction[i] - original[i]) ** 2;
    result.original.push(original);
    result.maskedInput.push(maskedInput);
    result.maskedReconstruction.push(maskedReconstruction);
    result.fullReconstruction.push(fullReconstruction);
  }
  return {
    ...result,
    maskedMse: maskedSq / (batch * c.numMasked * patchDim),
    fullMse: fullSq / (batch * per),
  };
}

/** The figure's magnification: cells of about 84 pixels, whatever the model's input size. */
export const figureScale = (imageSize: number): number => Math.max(1, Math.round(84 / imageSize));

/**
 * The figure as RGB bytes: one row per image; columns original, masked input (masked patches gray),
 * reconstruction of the masked patches (visible patches kept), full reconstruction with every patch visible.
 */
export function reconstructionGrid(
  r: Reconstructions,
  channels: number,
  size: number,
  scale = 4,
): { width: number; height: number; rgb: Uint8Array } {
  const cell = size * scale;
  const gap = 4;
  const columns = [r.original, r.maskedInput, r.maskedReconstruction, r.fullReconstruction];
  const rows = r.original.length;
  const width = columns.length * cell + (columns.length + 1) * gap;
  const height = rows * cell + (rows + 1) * gap;
  const buf = new Uint8Array(width * height * 3).fill(255);
  columns.forEach((col, ci) => {
    col.forEach((img, ri) => {
      const x0 = gap + ci * (cell + gap);
      const y0 = gap + ri * (cell + gap);
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const sy = Math.floor(y / scale);
          const sx = Math.floor(x / scale);
          const o = ((y0 + y) * width + x0 + x) * 3;
          for (let k = 0; k < 3; k++) {
            const ch = channels === 1 ? 0 : k;
            buf[o + k] = Math.round(255 * img[(ch * size + sy) * size + sx]);
          }
        }
      }
    });
  });
  return { width, height, rgb: buf };
}
