import { Graph } from '../core/graph';
import type { Tensor } from '../core/tensor';
import { crossAttention } from '../modules/cross-attention';
import { layerNorm } from '../modules/layer-norm';
import { linear } from '../modules/linear';
import { crossEntropy } from '../modules/losses';
import * as op from '../ops';
import type { StepModel } from '../training/step-graphs';

/**
 * The attentive probe's pooling (CAE): one cross-attention unit whose query is an extra learned
 * class token (zero init), keys and values all encoder tokens: q = LN(query), k = LN(x), v = LN(x);
 * no residual, no MLP. tokens: [B, T, D] -> [B, D].
 */
export function attentivePool(tokens: Tensor, heads: number): Tensor {
  const g = tokens.graph;
  const d = tokens.shape[2] as number;
  const query = g.param('query_token', [1, 1, d], { init: { kind: 'zeros' } });
  const q = g.withScope('norm_q', () => layerNorm(op.expandAs(query, op.slice(tokens, [0], [1], [1])), 1e-6));
  const k = g.withScope('norm_k', () => layerNorm(tokens, 1e-6));
  const v = g.withScope('norm_v', () => layerNorm(tokens, 1e-6));
  const pooled = g.withScope('cross_attn', () => crossAttention(q, k, v, heads)); // [B, 1, D]
  return op.reshape(pooled, [tokens.shape[0], d]);
}

/** BatchNorm without affine over the batch (training mode). x: [B, D]. */
function batchNorm(x: Tensor): Tensor {
  const mean = op.reduceMean(x, [0], { keepdims: true });
  const centered = op.sub(x, mean);
  const variance = op.reduceMean(op.mul(centered, centered), [0], { keepdims: true });
  return op.div(centered, op.sqrt(op.add(variance, 1e-6)));
}

/** Training form: tokens [B, T, D], labels [B] -> cross-entropy through pool, batch-statistics BN, head. */
export function attentiveProbeModel(
  batch: number,
  tokensPerSample: number,
  dim: number,
  heads: number,
  classes: number,
): StepModel {
  return (g: Graph) => {
    const x = g.input('tokens', 'float32', [batch, tokensPerSample, dim]);
    const y = g.input('labels', 'int64', [batch]);
    const pooled = attentivePool(x, heads);
    const logits = g.withScope('head', () =>
      linear(batchNorm(pooled), classes, { init: { kind: 'normal', std: 0.01 } }),
    );
    return { loss: crossEntropy(logits, y) };
  };
}

/** Pooling only: tokens [batch, T, D] -> pooled [batch, D] (for the BN statistics after training). */
export function attentivePoolGraph(tokensPerSample: number, dim: number, heads: number): Graph {
  const g = new Graph('attentive_pool');
  g.output('pooled', attentivePool(g.input('tokens', 'float32', ['batch', tokensPerSample, dim]), heads));
  return g;
}

/** Inference form: tokens [batch, T, D], BN statistics `bn_mean`, `bn_var` [D] -> logits [batch, classes]. */
export function attentiveProbeGraph(
  tokensPerSample: number,
  dim: number,
  heads: number,
  classes: number,
): Graph {
  const g = new Graph('attentive_probe');
  const x = g.input('tokens', 'float32', ['batch', tokensPerSample, dim]);
  const mean = g.input('bn_mean', 'float32', [dim]);
  const variance = g.input('bn_var', 'float32', [dim]);
  const normed = op.div(op.sub(attentivePool(x, heads), mean), op.sqrt(op.add(variance, 1e-6)));
  g.output(
    'logits',
    g.withScope('head', () => linear(normed, classes, { init: { kind: 'normal', std: 0.01 } })),
  );
  return g;
}
