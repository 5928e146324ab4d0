import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { autocast } from './autocast';
import { linear, linearWith } from './linear';

/** Splits heads. x: [B, N, H*dh] -> [B, H, N, dh]. */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [b, n, d] = x.shape as number[];
  return op.transpose(op.reshape(x, [b, n, heads, d / heads]), [0, 2, 1, 3]);
}

/**
 * qkv: [B, N, 3*H*dh] -> q, k, v: [B, H, N, dh]. One transpose to [3, B, H, N, dh], then a split along
 * the leading axis (contiguous copies); splitting the last axis first and transposing q, k and v
 * separately costs a strided split plus three transposes, forward and backward.
 */
export function splitQkvHeads(qkv: Tensor, heads: number): [Tensor, Tensor, Tensor] {
  const [b, n, d3] = qkv.shape as number[];
  const dh = d3 / 3 / heads;
  const stacked = op.transpose(op.reshape(qkv, [b, n, 3, heads, dh]), [2, 0, 3, 1, 4]);
  const [q, k, v] = op.split(stacked, [1, 1, 1], 0).map((t) => op.reshape(t, [b, heads, n, dh]));
  return [q, k, v];
}

/** Merges heads. x: [B, H, N, dh] -> [B, N, H*dh]. */
export function mergeHeads(x: Tensor): Tensor {
  const [b, h, n, dh] = x.shape as number[];
  return op.reshape(op.transpose(x, [0, 2, 1, 3]), [b, n, h * dh]);
}

/** softmax(q k^T * scale) v per head. q: [B, H, Nq, dh], k, v: [B, H, Nk, dh] -> [B, H, Nq, dh]. */
export function scaledDotProduct(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const dh = q.shape[3] as number;
  const scores = autocast((a, b) => op.matmul(a, op.transpose(b, [0, 1, 3, 2])), op.mul(q, dh ** -0.5), k);
  return autocast(op.matmul, op.softmax(scores), v);
}

/**
 * BEiT/CAE self-attention in the current scope: `qkv.weight` [3D, D] without bias, plus `q_bias`
 * and `v_bias` [D] (the key bias is fixed at zero), `proj` with bias. x: [B, N, D] -> [B, N, D].
 */
export function selfAttention(x: Tensor, heads: number): Tensor {
  const g = x.graph;
  const d = x.shape[2] as number;
  if (d % heads !== 0) throw new Error(`dim ${d} is not divisible by ${heads} heads`);
  const qkvWeight = g.withScope('qkv', () =>
    g.param('weight', [3 * d, d], { init: { kind: 'xavier_uniform', fanIn: d, fanOut: 3 * d } }),
  );
  const qBias = g.param('q_bias', [d], { init: { kind: 'zeros' } });
  const vBias = g.param('v_bias', [d], { init: { kind: 'zeros' } });
  const bias = op.concat([qBias, op.expand(g.scalar(0, 'float32'), [d]), vBias], 0);
  const [q, k, v] = splitQkvHeads(linearWith(x, qkvWeight, bias), heads);
  const out = mergeHeads(scaledDotProduct(q, k, v));
  return g.withScope('proj', () => linear(out, d));
}
