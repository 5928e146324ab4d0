import { initializeParams } from '../../artifacts/initialize-params';
import { Graph } from '../../graph-builder/core/graph';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { toModelProto } from '../../graph-builder/onnx/to-model-proto';
import type { Optimizer } from '../../graph-builder/optim/optimizer';
import { buildTrainStep, StepModel } from '../../graph-builder/training/step-graphs';
import { Rng } from '../../random/rng';
import { ModelSession, SessionConfig } from '../session';
import { learningRate } from '../train/schedule';
import { StepSession, stepScalars } from '../train/step-session';

/** Labeled samples held in memory: `perSample` floats each (a feature vector, or tokens x dim). */
export interface Samples {
  readonly data: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly perSample: number;
}

export interface FitOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly baseLr: number;
  readonly warmupEpochs: number;
  readonly seed: number;
  readonly onEpoch?: (epoch: number, meanLoss: number) => void;
  /** Execution provider and threads (default: CPU). */
  readonly session?: SessionConfig;
}

/** Copies the given samples' rows into one batch. */
export function gatherRows(s: Samples, indices: ArrayLike<number>, start: number, n: number): Float32Array {
  const out = new Float32Array(n * s.perSample);
  for (let i = 0; i < n; i++) {
    const row = indices[start + i];
    out.set(s.data.subarray(row * s.perSample, (row + 1) * s.perSample), i * s.perSample);
  }
  return out;
}

/**
 * Trains a probe model (data input `inputName` of shape [batch, ...sampleShape], `labels` [batch])
 * with the toolkit's own fused train_step, warmup + cosine per iteration, reshuffled every epoch;
 * returns the trained parameters.
 */
export async function fitProbe(
  model: StepModel,
  optimizer: Optimizer,
  inputName: string,
  sampleShape: readonly number[],
  train: Samples,
  o: FitOptions,
): Promise<Map<string, TensorData>> {
  const probe = new Graph('probe');
  model(probe);
  const params = initializeParams(probe.params, o.seed);
  const session = await StepSession.create(
    toModelProto(buildTrainStep(model, { optimizer }), { paramsAs: 'inputs' }),
    params,
    o.session,
  );
  const perEpoch = Math.floor(train.count / o.batchSize);
  if (perEpoch < 1)
    throw new Error(`${train.count} training samples do not fill one batch of ${o.batchSize}`);
  const schedule = {
    baseLr: o.baseLr,
    minLr: 0,
    warmupSteps: Math.round(o.warmupEpochs * perEpoch),
    totalSteps: o.epochs * perEpoch,
  };
  const rng = new Rng(o.seed + 1);
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = rng.permutation(train.count);
    let total = 0;
    for (let b = 0; b < perEpoch; b++) {
      step++;
      const x = gatherRows(train, order, b * o.batchSize, o.batchSize);
      const y = BigInt64Array.from({ length: o.batchSize }, (_, i) =>
        BigInt(train.labels[order[b * o.batchSize + i]]),
      );
      const out = await session.run({
        [inputName]: tensorData('float32', [o.batchSize, ...sampleShape], x),
        labels: tensorData('int64', [o.batchSize], y),
        ...stepScalars(learningRate(schedule, step), step),
      });
      total += Number(out.loss.data[0]);
    }
    o.onEpoch?.(epoch + 1, total / perEpoch);
  }
  const state = await session.snapshot();
  const trained = new Map(probe.params.map((p) => [p.name, state.get(p.name)!]));
  await session.release();
  return trained;
}

export interface PredictOptions {
  readonly extraFeeds?: Readonly<Record<string, TensorData>>;
  readonly outputName?: string;
  /** Samples per run. */
  readonly chunk?: number;
  readonly session?: SessionConfig;
}

/** Runs an inference graph (params embedded) over all samples in chunks; returns one output per sample. */
export async function predictAll(
  graph: Graph,
  params: ReadonlyMap<string, TensorData>,
  inputName: string,
  sampleShape: readonly number[],
  samples: Samples,
  { extraFeeds = {}, outputName = 'logits', chunk = 256, session: config }: PredictOptions = {},
): Promise<{ values: Float32Array; width: number }> {
  const session = await ModelSession.create(
    toModelProto(graph, { paramsAs: 'initializers', paramValues: params }),
    config,
  );
  const parts: Float32Array[] = [];
  let width = 0;
  const all = Int32Array.from({ length: samples.count }, (_, i) => i);
  for (let start = 0; start < samples.count; start += chunk) {
    const n = Math.min(chunk, samples.count - start);
    const x = tensorData('float32', [n, ...sampleShape], gatherRows(samples, all, start, n));
    const out = (await session.run({ [inputName]: x, ...extraFeeds }))[outputName];
    width = out.shape[out.shape.length - 1];
    parts.push(out.data as Float32Array);
  }
  await session.release();
  const values = new Float32Array(samples.count * width);
  let offset = 0;
  for (const p of parts) {
    values.set(p, offset);
    offset += p.length;
  }
  return { values, width };
}

/** Top-1 accuracy of logits [N, C] against labels (samples with label < 0 are ignored). */
export function top1(logits: Float32Array, classes: number, labels: Int32Array): number {
  let right = 0;
  let counted = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
    counted++;
    if (best === labels[i]) right++;
  }
  return counted === 0 ? NaN : right / counted;
}
