import { caeEncoder } from '../graph-builder/cae/encoder';
import { Graph } from '../graph-builder/core/graph';
import { tensorData, TensorData } from '../graph-builder/core/tensor-data';
import { toModelProto, unsupportedOpset } from '../graph-builder/onnx/to-model-proto';
import { encoderGraphModel, encoderWeights } from '../artifacts/build-plan';
import type { TrainedIn } from '../artifacts/encoder-metadata';
import type { Manifest } from '../artifacts/manifest';
import { writeModelFile } from '../artifacts/onnx-file';
import { Rng } from '../random/rng';
import { ModelSession, SessionConfig } from './session';

export interface ExportReport {
  readonly file: string;
  readonly opset: number;
  /** Largest |exported - training encoder| on random images, every patch visible. */
  readonly maxAbsDiff: number;
  readonly tokensShape: readonly number[];
}

/**
 * Writes the deployment encoder (images [batch, C, H, W] -> tokens [batch, 1+N, D]) with the given
 * weights, external data when large, then checks it against the training graph's encoder (parameters
 * as inputs, every patch visible) on random images; a difference above 1e-4 is an error.
 */
export async function exportEncoder(
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  file: string,
  opset = 21,
  /** Where the exported model is verified (default: CPU). */
  session: SessionConfig = {},
  /** The run and step the weights come from, written into the model's metadata. */
  trainedIn?: TrainedIn,
): Promise<ExportReport> {
  const unsupported = unsupportedOpset(opset);
  if (unsupported) throw new Error(`--${unsupported}`);
  const c = manifest.config;
  const encoderParams = encoderWeights(params);
  writeModelFile(file, encoderGraphModel(manifest, params, opset, trainedIn).model);

  const g = new Graph('training_encoder');
  const batch = 2;
  const images = g.input('images', 'float32', [batch, c.inChans, c.imageSize, c.imageSize]);
  const visible = g.input('visible_index', 'int64', [batch, manifest.grid.numPatches]);
  g.output(
    'tokens',
    g.withScope('encoder', () => caeEncoder(c, images, visible)),
  );
  const rng = new Rng(1234);
  const n = batch * c.inChans * c.imageSize * c.imageSize;
  const x = tensorData(
    'float32',
    [batch, c.inChans, c.imageSize, c.imageSize],
    Float32Array.from({ length: n }, () => rng.normal()),
  );
  const all = BigInt64Array.from({ length: batch * manifest.grid.numPatches }, (_, i) =>
    BigInt(i % manifest.grid.numPatches),
  );
  const exported = await ModelSession.create(file, session);
  const training = await ModelSession.create(toModelProto(g, { paramsAs: 'inputs' }));
  try {
    const a = (await exported.run({ images: x })).tokens;
    const b = (
      await training.run({
        images: x,
        visible_index: tensorData('int64', [batch, manifest.grid.numPatches], all),
        ...Object.fromEntries(encoderParams),
      })
    ).tokens;
    let maxAbsDiff = 0;
    const ad = a.data as Float32Array;
    const bd = b.data as Float32Array;
    for (let i = 0; i < ad.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ad[i] - bd[i]));
    if (!(maxAbsDiff <= 1e-4))
      throw new Error(`exported encoder differs from the training encoder by ${maxAbsDiff}`);
    return { file, opset, maxAbsDiff, tokensShape: a.shape };
  } finally {
    await exported.release();
    await training.release();
  }
}
