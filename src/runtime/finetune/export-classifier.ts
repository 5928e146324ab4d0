import { classifierMetadata } from '../../artifacts/encoder-metadata';
import type { Manifest } from '../../artifacts/manifest';
import { writeModelFile } from '../../artifacts/onnx-file';
import { CAE_ONNX_VERSION } from '../../artifacts/version';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { buildClassifierGraph } from '../../graph-builder/finetune/classifier';
import { toModelProto, unsupportedOpset } from '../../graph-builder/onnx/to-model-proto';
import { Rng } from '../../random/rng';
import { ModelSession, SessionConfig } from '../session';

export interface ClassifierExport {
  readonly file: string;
  readonly opset: number;
  /** Largest |exported - training graph| logit on random images. */
  readonly maxAbsDiff: number;
  readonly classes: number;
}

/** The largest logit difference allowed between classifier.onnx and the run's classifier graph. */
export const CLASSIFIER_TOLERANCE = 1e-5;

/** Where a fine-tuning run writes its deployable classifier (in the run folder). */
export const CLASSIFIER_FILE = 'classifier.onnx';

/**
 * Writes the deployment classifier (images [batch, C, H, W] -> logits [batch, classes]) with the
 * fine-tuned weights, class names and input normalization in its metadata, then checks its logits
 * against the classifier graph validation runs (parameters as inputs) on random images; a difference above CLASSIFIER_TOLERANCE is an error.
 */
export async function exportClassifier(
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  file: string,
  opset: number,
  session: SessionConfig = {},
): Promise<ClassifierExport> {
  const unsupported = unsupportedOpset(opset);
  if (unsupported) throw new Error(`--${unsupported}`);
  const task = manifest.task;
  if (!task) throw new Error('not a fine-tuning run: export its encoder with cae-onnx export');
  const c = manifest.config;
  writeModelFile(
    file,
    toModelProto(buildClassifierGraph(c, task.classes), {
      paramsAs: 'initializers',
      paramValues: params,
      opset,
      metadata: classifierMetadata(manifest),
      producerVersion: CAE_ONNX_VERSION,
    }),
  );
  const batch = 3;
  const rng = new Rng(4321);
  const shape = [batch, c.inChans, c.imageSize, c.imageSize];
  const images = tensorData(
    'float32',
    shape,
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
  );
  const exported = await ModelSession.create(file, session);
  // The graph validation runs (the build's classifier graph, parameters as inputs), traced again.
  const training = await ModelSession.create(
    toModelProto(buildClassifierGraph(c, task.classes), { paramsAs: 'inputs', opset }),
  );
  try {
    const a = (await exported.run({ images })).logits.data as Float32Array;
    const b = (await training.run({ images, ...Object.fromEntries(params) })).logits.data as Float32Array;
    let maxAbsDiff = 0;
    for (let i = 0; i < a.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    if (!(maxAbsDiff <= CLASSIFIER_TOLERANCE)) {
      throw new Error(
        `the exported classifier's logits differ from the training graph's by ${maxAbsDiff.toExponential(2)} (allowed ${CLASSIFIER_TOLERANCE})`,
      );
    }
    return { file, opset, maxAbsDiff, classes: task.classes };
  } finally {
    await exported.release();
    await training.release();
  }
}
