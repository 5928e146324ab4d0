import { tensorData } from '../../graph-builder/core/tensor-data';
import {
  attentivePoolGraph,
  attentiveProbeGraph,
  attentiveProbeModel,
} from '../../graph-builder/probes/attentive-probe';
import { FeatureStats, linearProbeGraph, linearProbeModel } from '../../graph-builder/probes/linear-probe';
import { sgd } from '../../graph-builder/optim/sgd';
import type { SessionConfig } from '../session';
import { FitOptions, fitProbe, predictAll, Samples, top1 } from './probe-fit';

export interface ProbeOptions {
  readonly epochs: number;
  readonly batchSize: number;
  /** Peak lr; defaults follow the paper's rules scaled to the batch. */
  readonly lr?: number;
  readonly seed: number;
  readonly onEpoch?: (epoch: number, meanLoss: number) => void;
  /** Execution provider and threads for training and prediction (default: CPU). */
  readonly session?: SessionConfig;
}

export interface ProbeResult {
  readonly accuracy: number;
  readonly trainAccuracy: number;
  readonly lr: number;
}

/** Both probes' schedule: warmup over the first 1/9 of the epochs (10 of 90 in the paper), then cosine. */
const fitSchedule = (o: ProbeOptions, lr: number): FitOptions => ({
  epochs: o.epochs,
  batchSize: o.batchSize,
  baseLr: lr,
  warmupEpochs: o.epochs / 9,
  seed: o.seed,
  onEpoch: o.onEpoch,
  session: o.session,
});

const classesOf = (...sets: Samples[]) => 1 + Math.max(...sets.flatMap((s) => Array.from(s.labels)));

/** Only samples with a label. */
export function labeled(s: Samples): Samples {
  const keep = Array.from(s.labels).flatMap((l, i) => (l >= 0 ? [i] : []));
  if (keep.length === s.count) return s;
  const data = new Float32Array(keep.length * s.perSample);
  keep.forEach((row, i) =>
    data.set(s.data.subarray(row * s.perSample, (row + 1) * s.perSample), i * s.perSample),
  );
  return {
    data,
    labels: Int32Array.from(keep, (i) => s.labels[i]),
    count: keep.length,
    perSample: s.perSample,
  };
}

/** Mean and (biased) variance of each of `dim` features over samples [N, dim]. */
export function featureStats(values: Float32Array, count: number, dim: number): FeatureStats {
  const mean = new Float32Array(dim);
  const variance = new Float32Array(dim);
  for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) mean[d] += values[i * dim + d] / count;
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dim; d++) variance[d] += (values[i * dim + d] - mean[d]) ** 2 / count;
  }
  return { mean, variance };
}

/**
 * Linear probe: frozen features standardized by the training set's statistics (BatchNorm without
 * affine at its running statistics), then Linear (init std 0.01), trained by SGD with momentum 0.9
 * (not LARS), no weight decay, warmup (1/9 of the epochs) + cosine; lr 0.1 x batch/256 by default.
 */
export async function linearProbe(
  trainSet: Samples,
  testSet: Samples,
  o: ProbeOptions,
): Promise<ProbeResult> {
  const train = labeled(trainSet);
  const test = labeled(testSet);
  const dim = train.perSample;
  const classes = classesOf(train, test);
  const stats = featureStats(train.data, train.count, dim);
  const lr = o.lr ?? (0.1 * o.batchSize) / 256;
  const params = await fitProbe(
    linearProbeModel(o.batchSize, stats, classes),
    sgd({ momentum: 0.9 }),
    'features',
    [dim],
    train,
    fitSchedule(o, lr),
  );
  const graph = () => linearProbeGraph(stats, classes);
  const accuracy = top1(
    (await predictAll(graph(), params, 'features', [dim], test, { session: o.session })).values,
    classes,
    test.labels,
  );
  const trainAccuracy = top1(
    (await predictAll(graph(), params, 'features', [dim], train, { session: o.session })).values,
    classes,
    train.labels,
  );
  return { accuracy, trainAccuracy, lr };
}

/**
 * Attentive probe (CAE): the cross-attention pooling unit, BatchNorm without affine (batch statistics
 * in training, the training set's statistics of the pooled features for evaluation), Linear; SGD with
 * nesterov momentum 0.9, no weight decay; lr 0.4 x batch/8192 by default.
 */
export async function attentiveProbe(
  trainSet: Samples,
  testSet: Samples,
  shape: { tokens: number; dim: number; heads: number },
  o: ProbeOptions,
): Promise<ProbeResult> {
  const train = labeled(trainSet);
  const test = labeled(testSet);
  const classes = classesOf(train, test);
  const sampleShape = [shape.tokens, shape.dim];
  const lr = o.lr ?? (0.4 * o.batchSize) / 8192;
  const model = attentiveProbeModel(o.batchSize, shape.tokens, shape.dim, shape.heads, classes);
  const params = await fitProbe(
    model,
    sgd({ momentum: 0.9, nesterov: true }),
    'tokens',
    sampleShape,
    train,
    fitSchedule(o, lr),
  );
  const poolParams = new Map([...params].filter(([k]) => !k.startsWith('head.')));
  const pooled = await predictAll(
    attentivePoolGraph(shape.tokens, shape.dim, shape.heads),
    poolParams,
    'tokens',
    sampleShape,
    train,
    { outputName: 'pooled', session: o.session },
  );
  const stats = featureStats(pooled.values, train.count, shape.dim);
  const bn = {
    bn_mean: tensorData('float32', [shape.dim], stats.mean),
    bn_var: tensorData('float32', [shape.dim], stats.variance),
  };
  const graph = () => attentiveProbeGraph(shape.tokens, shape.dim, shape.heads, classes);
  const accuracy = top1(
    (await predictAll(graph(), params, 'tokens', sampleShape, test, { extraFeeds: bn, session: o.session }))
      .values,
    classes,
    test.labels,
  );
  const trainAccuracy = top1(
    (await predictAll(graph(), params, 'tokens', sampleShape, train, { extraFeeds: bn, session: o.session }))
      .values,
    classes,
    train.labels,
  );
  return { accuracy, trainAccuracy, lr };
}
