import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { selfAttention } from './attention';
import { layerNorm } from './layer-norm';
import { mlp } from './mlp';

export interface BlockConfig {
  readonly heads: number;
  readonly mlpRatio: number;
  /** Layer-scale init (gamma_1, gamma_2); 0 disables layer scale. */
  readonly layerScaleInit: number;
  readonly eps: number;
}

/**
 * A residual branch scaled by layer scale gamma [D] and per-sample stochastic depth with host-made
 * decisions: keep [B] holds 0 or 1/(1 - rate) per sample (1 everywhere disables it). The two factors
 * are combined into one [B, 1, D] tensor first, so the [B, N, D] branch is multiplied once.
 * branch: [B, N, D].
 */
export function scaleBranch(branch: Tensor, gamma?: Tensor, keep?: Tensor): Tensor {
  const perSample = keep && op.reshape(keep, [keep.shape[0], 1, 1]); // [B, 1, 1]
  const factor = gamma && perSample ? op.mul(perSample, gamma) : (gamma ?? perSample);
  return factor ? op.mul(branch, factor) : branch;
}

/**
 * Pre-norm ViT block in the current scope (BEiT/CAE naming):
 * x += DropPath(gamma_1 * Attn(norm1(x))); x += DropPath(gamma_2 * MLP(norm2(x))). x: [B, N, D].
 */
export function block(x: Tensor, cfg: BlockConfig, keep?: Tensor): Tensor {
  const g = x.graph;
  const d = x.shape[2] as number;
  const gamma = (name: string) =>
    cfg.layerScaleInit > 0
      ? g.param(name, [d], { init: { kind: 'constant', value: cfg.layerScaleInit } })
      : undefined;
  const gamma1 = gamma('gamma_1');
  const gamma2 = gamma('gamma_2');
  const normed1 = g.withScope('norm1', () => layerNorm(x, cfg.eps));
  const attn = g.withScope('attn', () => selfAttention(normed1, cfg.heads));
  const x1 = op.add(x, scaleBranch(attn, gamma1, keep));
  const hidden = Math.round(d * cfg.mlpRatio);
  const normed2 = g.withScope('norm2', () => layerNorm(x1, cfg.eps));
  const m = g.withScope('mlp', () => mlp(normed2, hidden));
  return op.add(x1, scaleBranch(m, gamma2, keep));
}
