import { onnx } from 'onnx-proto';
import type { Manifest } from '../../../artifacts/manifest-format';
import type { TensorData } from '../../../graph-builder/core/tensor-data';
import {
  figureScale,
  reconstructionGrid,
  reconstructionModel,
  reconstructionPixels,
} from '../../../runtime/eval/reconstruction-pixels';
import { fromOrt, ort, toOrt } from './ort-web';

/** The reconstruction figure's RGB pixels, as the CLI's report draws it (reconstruction-pixels.ts). */
export interface Figure {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly maskedMse: number;
}

/**
 * The figure for `count` images [count, C, S, S] (normalized, no augmentation) with the run's current
 * weights: masks from seed 0, as the CLI's report. Runs on the WASM backend, beside training.
 */
export async function reconstructionFigure(
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  images: Float32Array,
  count: number,
): Promise<Figure> {
  const c = manifest.config;
  const { model, feeds, maskedIndex } = reconstructionModel(manifest, params, images, count, 0);
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), {
    executionProviders: ['wasm'],
  });
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrt(t)])));
    const r = reconstructionPixels(
      manifest,
      images,
      count,
      maskedIndex,
      (await fromOrt(out.masked_pred)).data as Float32Array,
      (await fromOrt(out.full_pred)).data as Float32Array,
    );
    const grid = reconstructionGrid(r, c.inChans, c.imageSize, figureScale(c.imageSize));
    return { ...grid, maskedMse: r.maskedMse };
  } finally {
    await session.release();
  }
}
