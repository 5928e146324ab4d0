import { ClassifierMetadata, readClassifierMetadata } from '../../artifacts/encoder-metadata';
import { FileFormatError } from '../../artifacts/file-format-error';
import { readModelFile } from '../../artifacts/onnx-file';
import { tensorData } from '../../graph-builder/core/tensor-data';
import { openSampleReader } from '../data/sample-reader';
import { ModelSession, SessionConfig } from '../session';

export interface ClassGuess {
  readonly classId: number;
  readonly name: string;
  readonly probability: number;
}

export interface Prediction {
  readonly file: string;
  /** The k most probable classes, most probable first. */
  readonly top: readonly ClassGuess[];
}

export interface Predictions {
  readonly predictions: Prediction[];
  /** Files that could not be decoded. */
  readonly skipped: string[];
  readonly metadata: ClassifierMetadata;
}

/** The softmax of a row of logits, as the k most probable classes. */
function topK(logits: Float32Array, names: readonly string[], k: number): ClassGuess[] {
  const max = Math.max(...logits);
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const total = exp.reduce((a, v) => a + v, 0);
  return exp
    .map((e, classId) => ({ classId, name: names[classId] ?? String(classId), probability: e / total }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

/** Channels and side of a classifier's `images` input: [batch, C, H, W], C 1 or 3, H = W. */
function inputGeometry(
  file: string,
  model: ReturnType<typeof readModelFile>,
): { channels: 1 | 3; size: number } {
  const dims = model.graph?.input?.find((i) => i.name === 'images')?.type?.tensorType?.shape?.dim ?? [];
  const [, c, h, w] = dims.map((d) =>
    d.dimValue === undefined || d.dimValue === null ? NaN : Number(d.dimValue),
  );
  if (dims.length !== 4 || !(c === 1 || c === 3) || !(h > 0) || h !== w)
    throw new FileFormatError(`${file}: the input 'images' is not [batch, 1 or 3, S, S]`);
  return { channels: c, size: h };
}

/**
 * Classifies image files with a classifier.onnx written by `cae-onnx finetune`: each file resized
 * whole (bicubic) and normalized as the model's metadata says, as validation does.
 */
export async function predictFiles(
  modelFile: string,
  files: readonly string[],
  o: { readonly top: number; readonly session?: SessionConfig },
): Promise<Predictions> {
  const model = readModelFile(modelFile);
  const metadata = readClassifierMetadata(model);
  if (!metadata)
    throw new FileFormatError(
      `${modelFile} has no class names in its metadata: not a classifier.onnx from cae-onnx finetune`,
    );
  const geometry = inputGeometry(modelFile, model);
  const reader = openSampleReader(
    { source: { kind: 'files', root: '', files }, fileLabels: null },
    { ...geometry, mean: metadata.mean, std: metadata.std },
    undefined,
  );
  const session = await ModelSession.create(modelFile, o.session ?? {});
  const predictions: Prediction[] = [];
  const skipped: string[] = [];
  const classes = metadata.classNames.length;
  const batchSize = 64;
  try {
    for (let start = 0; start < files.length; start += batchSize) {
      const end = Math.min(start + batchSize, files.length);
      const batch = await reader.read(start, end);
      skipped.push(...batch.skipped);
      if (batch.count === 0) continue;
      const images = tensorData(
        'float32',
        [batch.count, geometry.channels, geometry.size, geometry.size],
        batch.images,
      );
      const logits = (await session.run({ images }, ['logits'])).logits.data as Float32Array;
      const bad = new Set(batch.skipped);
      const decoded = files.slice(start, end).filter((f) => !bad.has(f));
      decoded.forEach((file, i) =>
        predictions.push({
          file,
          top: topK(logits.subarray(i * classes, (i + 1) * classes), metadata.classNames, o.top),
        }),
      );
    }
  } finally {
    await session.release();
  }
  return { predictions, skipped, metadata };
}
