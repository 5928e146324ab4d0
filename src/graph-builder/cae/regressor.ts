import type { Tensor } from '../core/tensor';
import { crossAttention } from '../modules/cross-attention';
import { scaleBranch } from '../modules/block';
import { layerNorm } from '../modules/layer-norm';
import { mlp } from '../modules/mlp';
import * as op from '../ops';
import type { CaeConfig } from './config';
import { keepRow } from './encoder';

/**
 * One regressor block (`regresser.regressor_blocks.i.*`):
 *   x = xq + DropPath(gamma_1_cross * CrossAttn(norm1_q(xq + pm), norm1_k(kv + pk), norm1_v(kv)))
 *   x = norm2_cross(x); x = x + DropPath(gamma_2_cross * mlp_cross(x))
 * with kv = [xv, xq] and pk = [pv, pm]. xq: [B, Nm, Dd], xv: [B, Nv, Dd].
 */
function regressorBlock(c: CaeConfig, xq: Tensor, xv: Tensor, pm: Tensor, pv: Tensor, keep?: Tensor): Tensor {
  const g = xq.graph;
  const d = c.decoderEmbedDim;
  const gamma = (name: string) =>
    g.param(name, [d], { init: { kind: 'constant', value: c.decoderLayerScaleInit } });
  const gamma1 = gamma('gamma_1_cross');
  const gamma2 = gamma('gamma_2_cross');
  const kv = op.concat([xv, xq], 1);
  const pk = op.concat([pv, pm], 1);
  const q = g.withScope('norm1_q', () => layerNorm(op.add(xq, pm), c.eps));
  const k = g.withScope('norm1_k', () => layerNorm(op.add(kv, pk), c.eps));
  const v = g.withScope('norm1_v', () => layerNorm(kv, c.eps));
  const attended = g.withScope('cross_attn', () => crossAttention(q, k, v, c.decoderNumHeads));
  const x1 = op.add(xq, scaleBranch(attended, gamma1, keep));
  const x2 = g.withScope('norm2_cross', () => layerNorm(x1, c.eps));
  const m = g.withScope('mlp_cross', () => mlp(x2, Math.round(d * c.mlpRatio)));
  return op.add(x2, scaleBranch(m, gamma2, keep));
}

/**
 * The latent contextual regressor (`regresser.*` in the current scope; `mask_token` is declared by
 * the caller). Visible latents are not updated. queries: [B, Nm, Dd] -> predicted latents [B, Nm, Dd].
 */
export function caeRegressor(
  c: CaeConfig,
  queries: Tensor,
  visible: Tensor,
  posMasked: Tensor,
  posVisible: Tensor,
  keep?: Tensor,
): Tensor {
  const g = queries.graph;
  let x = queries;
  for (let i = 0; i < c.regressorDepth; i++) {
    x = g.withScope('regressor_blocks', () =>
      g.withScope(i, () => regressorBlock(c, x, visible, posMasked, posVisible, keepRow(keep, i))),
    );
  }
  return g.withScope('norm', () => layerNorm(x, c.eps));
}
