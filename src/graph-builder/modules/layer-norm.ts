import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/** torch.nn.LayerNorm(D) in the current scope: `weight` (ones), `bias` (zeros). x: [..., D]. */
export function layerNorm(x: Tensor, eps = 1e-6): Tensor {
  const g = x.graph;
  const d = x.shape[x.rank - 1] as number;
  const weight = g.param('weight', [d], { init: { kind: 'ones' } });
  const bias = g.param('bias', [d], { init: { kind: 'zeros' } });
  return op.layerNorm(x, weight, bias, { epsilon: eps });
}
