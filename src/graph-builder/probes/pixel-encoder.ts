import { Graph } from '../core/graph';
import * as op from '../ops';

/** Raw-pixel features: at most this many values per image (bigger images are average-pooled). */
export const MAX_PIXEL_FEATURES = 4096;

export interface PixelGeometry {
  readonly channels: number;
  /** Image side (square images). */
  readonly size: number;
  /** The encoder's patch size: pooling keeps the patch grid, so the factor divides it. */
  readonly patchSize: number;
}

/**
 * The average-pooling factor of the raw-pixel baseline: the smallest divisor f of the patch size
 * with channels x (size / f)^2 <= MAX_PIXEL_FEATURES (1 for MNIST's 28x28; 8 for 224x224 RGB).
 */
export function pixelPoolFactor(g: PixelGeometry): number {
  for (let f = 1; f <= g.patchSize; f++) {
    if (g.patchSize % f === 0 && g.channels * (g.size / f) ** 2 <= MAX_PIXEL_FEATURES) return f;
  }
  return g.patchSize;
}

/**
 * Raw pixels as an "encoder" with the deployed encoder's interface (images [batch, C, S, S] ->
 * tokens [batch, T, D]), so the probes treat them as they treat a model. Images are first
 * average-pooled by `pixelPoolFactor` (s = S / f).
 * - 'flat': tokens [batch, 2, C s s], both tokens the whole image (cls and mean pooling alike).
 * - 'patches': tokens [batch, 1 + N, C (p/f)^2], the encoder's patch grid; token 0 is their mean.
 */
export function buildPixelEncoderGraph(g: PixelGeometry, kind: 'flat' | 'patches'): Graph {
  const graph = new Graph(`pixels_${kind}`);
  const f = pixelPoolFactor(g);
  const s = g.size / f;
  const c = g.channels;
  let x = graph.input('images', 'float32', ['batch', c, g.size, g.size]);
  if (f > 1) x = op.reduceMean(op.reshape(x, ['batch', c, s, f, s, f]), [3, 5], { keepdims: false });
  if (kind === 'flat') {
    const flat = op.reshape(x, ['batch', 1, c * s * s]);
    graph.output('tokens', op.concat([flat, flat], 1));
    return graph;
  }
  const q = g.patchSize / f; // patch side in pooled pixels
  const side = s / q;
  const six = op.reshape(x, ['batch', c, side, q, side, q]);
  const patches = op.reshape(op.transpose(six, [0, 2, 4, 3, 5, 1]), ['batch', side * side, q * q * c]);
  graph.output('tokens', op.concat([op.reduceMean(patches, [1], { keepdims: true }), patches], 1));
  return graph;
}
