import { onnx } from 'onnx-proto';
import type { Manifest } from '../../../artifacts/manifest-format';
import { CAE_INPUTS } from '../../../graph-builder/cae/model';
import { buildReconstructionGraph } from '../../../graph-builder/cae/reconstruct';
import { tensorData, TensorData } from '../../../graph-builder/core/tensor-data';
import { toModelProto } from '../../../graph-builder/onnx/to-model-proto';
import { Rng } from '../../../random/rng';
import { reconstructionGrid, reconstructionPixels } from '../../../runtime/eval/reconstruction-pixels';
import { makeMaskBatch } from '../../../runtime/masking';
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
  const graph = buildReconstructionGraph(c, count);
  const used = new Map(graph.params.map((q) => [q.name, params.get(q.name)!]));
  const model = onnx.ModelProto.encode(
    toModelProto(graph, { paramsAs: 'initializers', paramValues: used, opset: manifest.opset }),
  ).finish();
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'] });
  const masks = makeMaskBatch(new Rng(0), {
    batch: count,
    grid: { height: manifest.grid.side, width: manifest.grid.side },
    numMasked: c.numMasked,
    kind: c.maskKind,
  });
  try {
    const out = await session.run({
      [CAE_INPUTS.images]: toOrt(tensorData('float32', [count, c.inChans, c.imageSize, c.imageSize], images)),
      [CAE_INPUTS.visibleIndex]: toOrt(tensorData('int64', [count, masks.numVisible], masks.visibleIndex)),
      [CAE_INPUTS.maskedIndex]: toOrt(tensorData('int64', [count, c.numMasked], masks.maskedIndex)),
    });
    const r = reconstructionPixels(
      manifest,
      images,
      count,
      masks.maskedIndex,
      (await fromOrt(out.masked_pred)).data as Float32Array,
      (await fromOrt(out.full_pred)).data as Float32Array,
    );
    const scale = Math.max(1, Math.round(84 / c.imageSize));
    return { ...reconstructionGrid(r, c.inChans, c.imageSize, scale), maskedMse: r.maskedMse };
  } finally {
    await session.release();
  }
}
