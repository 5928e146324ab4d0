import sharp from 'sharp';
import type { Manifest } from '../../artifacts/manifest';
import type { TensorData } from '../../graph-builder/core/tensor-data';
import { BatchLoader, LoaderOptions } from '../data/loader';
import { ModelSession, SessionConfig } from '../session';
import {
  reconstructionGrid,
  reconstructionModel,
  reconstructionPixels,
  Reconstructions,
} from './reconstruction-pixels';

export type { Reconstructions } from './reconstruction-pixels';

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
  const { model, feeds, maskedIndex } = reconstructionModel(manifest, params, images, batch, seed);
  const run = await ModelSession.create(model, session);
  const out = await run.run(feeds);
  await run.release();
  return reconstructionPixels(
    manifest,
    images,
    batch,
    maskedIndex,
    out.masked_pred.data as Float32Array,
    out.full_pred.data as Float32Array,
  );
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

/** The figure (reconstructionGrid) as a PNG file. */
export async function writeReconstructionGrid(
  r: Reconstructions,
  channels: number,
  size: number,
  file: string,
  scale = 4,
): Promise<void> {
  const { width, height, rgb } = reconstructionGrid(r, channels, size, scale);
  await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}
