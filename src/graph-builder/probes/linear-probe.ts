import { Graph } from '../core/graph';
import { tensorData } from '../core/tensor-data';
import type { Tensor } from '../core/tensor';
import { linear } from '../modules/linear';
import { crossEntropy } from '../modules/losses';
import * as op from '../ops';
import type { StepModel } from '../training/step-graphs';

/** Per-feature statistics of the training features (BatchNorm without affine, at its running statistics). */
export interface FeatureStats {
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

/** (x - mean) / sqrt(var + 1e-6) with constant statistics. x: [B, D]. */
function standardize(x: Tensor, stats: FeatureStats): Tensor {
  const g = x.graph;
  const d = stats.mean.length;
  const mean = g.constant(tensorData('float32', [d], stats.mean), 'feature_mean');
  const scale = g.constant(
    tensorData(
      'float32',
      [d],
      Float32Array.from(stats.variance, (v) => 1 / Math.sqrt(v + 1e-6)),
    ),
    'feature_inv_std',
  );
  return op.mul(op.sub(x, mean), scale);
}

/** Standardized features -> `head` Linear (weights N(0, 0.01), zero bias). x: [B, D] -> [B, classes]. */
export function linearProbeLogits(x: Tensor, stats: FeatureStats, classes: number): Tensor {
  return x.graph.withScope('head', () =>
    linear(standardize(x, stats), classes, { init: { kind: 'normal', std: 0.01 } }),
  );
}

/** Training form: features [B, D], labels [B] -> cross-entropy. */
export function linearProbeModel(batch: number, stats: FeatureStats, classes: number): StepModel {
  return (g: Graph) => {
    const x = g.input('features', 'float32', [batch, stats.mean.length]);
    const y = g.input('labels', 'int64', [batch]);
    return { loss: crossEntropy(linearProbeLogits(x, stats, classes), y) };
  };
}

/** Inference form: features [batch, D] -> logits [batch, classes]. */
export function linearProbeGraph(stats: FeatureStats, classes: number): Graph {
  const g = new Graph('linear_probe');
  const x = g.input('features', 'float32', ['batch', stats.mean.length]);
  g.output('logits', linearProbeLogits(x, stats, classes));
  return g;
}
