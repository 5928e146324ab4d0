import type { SessionConfig } from '../session';
import type { FeatureSet } from './features';
import { knnClassify } from './knn';
import type { Samples } from './probe-fit';
import { attentiveProbe, linearProbe } from './probes';

export type ProbeMode = 'linear' | 'attentive' | 'knn';

/** How features are judged: the mode and its settings (defaults: the paper's). */
export interface ProbeProtocol {
  readonly mode: ProbeMode;
  readonly k: number;
  readonly temperature: number;
  readonly epochs?: number;
  readonly batch?: number;
  readonly lr?: number;
  readonly seed: number;
  /** Attentive probe heads (default: the largest of 12, 8, 6, 4, 2, 1 dividing the width). */
  readonly heads?: number;
}

export interface ProbeOutcome {
  readonly accuracy: number;
  /** The settings the result came from, and training accuracy for trained probes. */
  readonly details: Readonly<Record<string, number>>;
}

const samplesOf = (f: FeatureSet): Samples => ({
  data: f.features,
  labels: f.labels,
  count: f.count,
  perSample: f.tokensPerSample * f.dim,
});

/** Top-1 of a protocol on extracted features (training split, validation split). */
export async function runProbe(
  train: FeatureSet,
  val: FeatureSet,
  p: ProbeProtocol,
  o: { readonly session?: SessionConfig; readonly onEpoch?: (epoch: number, loss: number) => void } = {},
): Promise<ProbeOutcome> {
  if (p.mode === 'knn') {
    const r = await knnClassify(
      { features: train.features, labels: train.labels, dim: train.dim },
      { features: val.features, labels: val.labels, dim: val.dim },
      { k: p.k, temperature: p.temperature },
      o.session,
    );
    return { accuracy: r.accuracy, details: { k: p.k, temperature: p.temperature } };
  }
  const options = {
    epochs: p.epochs ?? 90,
    batchSize: p.batch ?? 256,
    lr: p.lr,
    seed: p.seed,
    session: o.session,
    onEpoch: o.onEpoch,
  };
  const r =
    p.mode === 'linear'
      ? await linearProbe(samplesOf(train), samplesOf(val), options)
      : await attentiveProbe(
          samplesOf(train),
          samplesOf(val),
          {
            tokens: train.tokensPerSample,
            dim: train.dim,
            heads: p.heads ?? [12, 8, 6, 4, 2, 1].find((h) => train.dim % h === 0)!,
          },
          options,
        );
  return {
    accuracy: r.accuracy,
    details: { trainAccuracy: r.trainAccuracy, lr: r.lr, epochs: options.epochs, batch: options.batchSize },
  };
}
