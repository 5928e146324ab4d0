import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import type { SampleReader } from '../data/sample-reader';
import type { ModelSession } from '../session';

export interface ClassifierScore {
  /** Fraction of samples whose highest logit is their label. */
  readonly top1: number;
  /** Mean cross-entropy against the labels (no smoothing). */
  readonly loss: number;
  readonly count: number;
  /** Files that could not be decoded (left out). */
  readonly skipped: string[];
}

/** Softmax cross-entropy of one row of logits against class `label`, and whether it is the argmax. */
function scoreRow(logits: Float32Array, label: number): { loss: number; correct: boolean } {
  let max = -Infinity;
  let best = 0;
  for (let k = 0; k < logits.length; k++) {
    if (logits[k] > max) {
      max = logits[k];
      best = k;
    }
  }
  let sum = 0;
  for (let k = 0; k < logits.length; k++) sum += Math.exp(logits[k] - max);
  return { loss: max + Math.log(sum) - logits[label], correct: best === label };
}

/**
 * Runs a classifier (input `images` [batch, C, H, W], output `logits` [batch, classes]) over every
 * sample of a reader: top-1 and mean cross-entropy. `params` feeds a graph whose parameters are
 * inputs (validation during training); a deployed classifier.onnx needs none.
 */
export async function evaluateClassifier(
  session: ModelSession,
  reader: SampleReader,
  o: {
    readonly channels: number;
    readonly size: number;
    readonly classes: number;
    readonly batchSize?: number;
    readonly params?: ReadonlyMap<string, TensorData>;
    readonly onProgress?: (done: number, total: number) => void;
  },
): Promise<ClassifierScore> {
  const batchSize = o.batchSize ?? 256;
  const params = o.params ? Object.fromEntries(o.params) : {};
  let correct = 0;
  let loss = 0;
  let count = 0;
  const skipped: string[] = [];
  const read = (start: number) => {
    const p = reader.read(start, Math.min(start + batchSize, reader.total));
    p.catch(() => undefined); // surfaces where awaited
    return p;
  };
  let pending = read(0);
  for (let start = 0; start < reader.total; start += batchSize) {
    const batch = await pending;
    if (start + batchSize < reader.total) pending = read(start + batchSize);
    skipped.push(...batch.skipped);
    if (batch.count === 0) continue;
    const images = tensorData('float32', [batch.count, o.channels, o.size, o.size], batch.images);
    const logits = (await session.run({ ...params, images }, ['logits'])).logits.data as Float32Array;
    for (let i = 0; i < batch.count; i++) {
      const label = batch.labels[i];
      if (!(label >= 0 && label < o.classes)) {
        throw new Error(
          `a validation sample has label ${label}; the classifier has classes 0..${o.classes - 1}`,
        );
      }
      const row = scoreRow(logits.subarray(i * o.classes, (i + 1) * o.classes), label);
      loss += row.loss;
      if (row.correct) correct++;
    }
    count += batch.count;
    o.onProgress?.(Math.min(start + batchSize, reader.total), reader.total);
  }
  if (count === 0) throw new Error(`none of the ${reader.total} validation images could be decoded`);
  return { top1: correct / count, loss: loss / count, count, skipped };
}
