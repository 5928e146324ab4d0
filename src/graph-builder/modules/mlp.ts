import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { linear } from './linear';

/** fc1 -> exact GELU -> fc2 in the current scope. x: [..., D] -> [..., D]. */
export function mlp(x: Tensor, hidden: number): Tensor {
  const g = x.graph;
  const d = x.shape[x.rank - 1] as number;
  const h = g.withScope('fc1', () => linear(x, hidden));
  return g.withScope('fc2', () => linear(op.gelu(h), d));
}
