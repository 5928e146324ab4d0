import type { Tensor } from '../core/tensor';
import { mergeHeads, scaledDotProduct, splitHeads } from './attention';
import { linear, linearWith } from './linear';

/**
 * Cross-attention (`cross_attn.*`): q, k, v Linear without bias, `q_bias`, `v_bias` (key bias zero),
 * `proj`. q: [B, Nq, D], k, v: [B, Nk, D] -> [B, Nq, D].
 */
export function crossAttention(q: Tensor, k: Tensor, v: Tensor, heads: number): Tensor {
  const g = q.graph;
  const d = q.shape[2] as number;
  const weight = (name: string) =>
    g.withScope(name, () =>
      g.param('weight', [d, d], { init: { kind: 'xavier_uniform', fanIn: d, fanOut: d } }),
    );
  const [wq, wk, wv] = [weight('q'), weight('k'), weight('v')];
  const qBias = g.param('q_bias', [d], { init: { kind: 'zeros' } });
  const vBias = g.param('v_bias', [d], { init: { kind: 'zeros' } });
  const qh = splitHeads(linearWith(q, wq, qBias), heads);
  const kh = splitHeads(linearWith(k, wk), heads);
  const vh = splitHeads(linearWith(v, wv, vBias), heads);
  return g.withScope('proj', () => linear(mergeHeads(scaledDotProduct(qh, kh, vh)), d));
}
