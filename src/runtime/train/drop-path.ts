import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import type { Rng } from '../../random/rng';

/**
 * Per-sample stochastic-depth decisions for `depth` blocks with rates linspace(0, maxRate, depth), as
 * the reference's DropPath: keep with probability 1 - r, scaled by 1/(1 - r). Returns [depth, batch].
 */
export function dropPathKeep(rng: Rng, depth: number, batch: number, maxRate: number): TensorData {
  const out = new Float32Array(depth * batch);
  for (let i = 0; i < depth; i++) {
    const rate = depth > 1 ? (maxRate * i) / (depth - 1) : 0;
    for (let b = 0; b < batch; b++) out[i * batch + b] = rng.uniform() < 1 - rate ? 1 / (1 - rate) : 0;
  }
  return tensorData('float32', [depth, batch], out);
}

/** All-ones decisions: drop path off (evaluation, or the alignment pass when asked). */
export function keepAll(depth: number, batch: number): TensorData {
  return tensorData('float32', [depth, batch], new Float32Array(depth * batch).fill(1));
}
