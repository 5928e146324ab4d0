import sharp from 'sharp';
import type { Manifest } from '../../artifacts/manifest';
import { gridOf } from '../../graph-builder/cae/config';
import { CAE_INPUTS } from '../../graph-builder/cae/model';
import { buildReconstructionGraph } from '../../graph-builder/cae/reconstruct';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { toModelProto } from '../../graph-builder/onnx/to-model-proto';
import { BatchLoader, LoaderOptions } from '../data/loader';
import { makeMaskBatch } from '../masking';
import { Rng } from '../../random/rng';
import { ModelSession, SessionConfig } from '../session';

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

/**
 * Runs the reconstruction graph on normalized images [B, C, H, W] with fresh masks and turns the
 * predictions back into pixels: per-patch normalized predictions are rescaled with the original
 * patch's mean and variance (as MAE's figures do), then the image normalization is undone.
 */
export async function reconstruct(
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  images: Float32Array,
  batch: number,
  seed: number,
  session: SessionConfig = {},
): Promise<Reconstructions> {
  const c = manifest.config;
  const { side, numPatches, patchDim } = gridOf(c);
  const p = c.patchSize;
  const size = c.imageSize;
  const graph = buildReconstructionGraph(c, batch);
  const used = new Map(graph.params.map((q) => [q.name, params.get(q.name)!]));
  const run = await ModelSession.create(
    toModelProto(graph, { paramsAs: 'initializers', paramValues: used }),
    session,
  );
  const masks = makeMaskBatch(new Rng(seed), {
    batch,
    grid: { height: side, width: side },
    numMasked: c.numMasked,
    kind: c.maskKind,
  });
  const out = await run.run({
    [CAE_INPUTS.images]: tensorData('float32', [batch, c.inChans, size, size], images),
    [CAE_INPUTS.visibleIndex]: tensorData('int64', [batch, masks.numVisible], masks.visibleIndex),
    [CAE_INPUTS.maskedIndex]: tensorData('int64', [batch, c.numMasked], masks.maskedIndex),
  });
  await run.release();
  const maskedPred = out.masked_pred.data as Float32Array;
  const fullPred = out.full_pred.data as Float32Array;
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
      const n = Number(masks.maskedIndex[b * c.numMasked + k]);
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

/**
 * Reconstructions of `count` images of a data source, chosen by `seed` (no augmentation), with
 * masks from the same seed: what `cae-onnx reconstruct` and a run's report show.
 */
export async function reconstructFromSource(o: {
  readonly manifest: Manifest;
  readonly params: ReadonlyMap<string, TensorData>;
  readonly source: LoaderOptions['source'];
  readonly count: number;
  readonly seed: number;
  readonly session?: SessionConfig;
}): Promise<Reconstructions> {
  const m = o.manifest;
  const loader = await BatchLoader.open({
    source: o.source,
    imageSize: m.config.imageSize,
    channels: m.config.inChans as 1 | 3,
    batchSize: o.count,
    seed: o.seed,
    augment: false,
    mean: [...m.normalization.mean],
    std: [...m.normalization.std],
    workers: 0,
  });
  let images: Float32Array;
  try {
    images = (await loader.next()).images;
  } finally {
    await loader.close();
  }
  return reconstruct(m, o.params, images, o.count, o.seed, o.session);
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * A PNG grid: one row per image; columns original, masked input (masked patches gray), reconstruction
 * of the masked patches (visible patches kept), full reconstruction with every patch visible.
 */
export async function writeReconstructionGrid(
  r: Reconstructions,
  channels: number,
  size: number,
  file: string,
  scale = 4,
): Promise<void> {
  const cell = size * scale;
  const gap = 4;
  const columns = [r.original, r.maskedInput, r.maskedReconstruction, r.fullReconstruction];
  const rows = r.original.length;
  const width = columns.length * cell + (columns.length + 1) * gap;
  const height = rows * cell + (rows + 1) * gap;
  const buf = Buffer.alloc(width * height * 3, 255);
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
  await sharp(buf, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}
