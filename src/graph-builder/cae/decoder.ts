import type { Tensor } from '../core/tensor';
import { block } from '../modules/block';
import { layerNorm } from '../modules/layer-norm';
import { linear } from '../modules/linear';
import * as op from '../ops';
import { CaeConfig, gridOf } from './config';
import { keepRow } from './encoder';

/** Decoder output width: the tokenizer vocabulary, or p*p*C pixel values. */
export const decoderOutputs = (c: CaeConfig): number =>
  c.target === 'tokens' ? c.vocabSize : gridOf(c).patchDim;

/**
 * The decoder (`decoder.*` in the current scope): standard blocks over the masked positions only,
 * `norm`, `head`. latents: [B, Nm, Dd], positions: [B, Nm, Dd] -> [B, Nm, outputs].
 */
export function caeDecoder(c: CaeConfig, latents: Tensor, positions: Tensor, keep?: Tensor): Tensor {
  const g = latents.graph;
  let x = op.add(latents, positions);
  const cfg = {
    heads: c.decoderNumHeads,
    mlpRatio: c.mlpRatio,
    layerScaleInit: c.decoderLayerScaleInit,
    eps: c.eps,
  };
  for (let i = 0; i < c.decoderDepth; i++) {
    x = g.withScope('decoder_blocks', () => g.withScope(i, () => block(x, cfg, keepRow(keep, i))));
  }
  x = g.withScope('norm', () => layerNorm(x, c.eps));
  return g.withScope('head', () => linear(x, decoderOutputs(c)));
}
