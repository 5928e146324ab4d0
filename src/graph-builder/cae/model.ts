import { stopGradient } from '../autodiff';
import { Graph } from '../core/graph';
import type { Tensor } from '../core/tensor';
import { layerNorm } from '../modules/layer-norm';
import { linear } from '../modules/linear';
import { crossEntropy, mse } from '../modules/losses';
import * as op from '../ops';
import type { LossTerms, StepModel } from '../training/step-graphs';
import { CaeConfig, gridOf } from './config';
import { caeDecoder, decoderOutputs } from './decoder';
import { caeEncoder } from './encoder';
import { caeRegressor } from './regressor';
import { sincosTable } from './sincos';
import { pixelTargets } from './targets';

/** Names of the data inputs of the training graphs. */
export const CAE_INPUTS = {
  images: 'images',
  visibleIndex: 'visible_index',
  maskedIndex: 'masked_index',
  targetTokens: 'target_tokens',
  keepEncoder: 'drop_path_encoder',
  keepRegressor: 'drop_path_regressor',
  keepDecoder: 'drop_path_decoder',
  keepAlignment: 'drop_path_alignment',
} as const;

/** The terms of the CAE loss (loss = rec + lambda * align): graph outputs, recorded per step under these names. */
export const CAE_LOSS_TERMS = ['loss_rec', 'loss_align'] as const;

/** Encoder latents projected to the regressor width (`encoder_to_regresser` + norm) when widths differ. */
export function toRegressorWidth(c: CaeConfig, x: Tensor): Tensor {
  if (c.embedDim === c.decoderEmbedDim) return x;
  const g = x.graph;
  const projected = g.withScope('encoder_to_regresser', () => linear(x, c.decoderEmbedDim));
  return g.withScope('encoder_to_regresser_norm', () => layerNorm(projected, c.eps));
}

/** Drops the cls token. x: [B, 1 + K, D] -> [B, K, D]. */
export const withoutCls = (x: Tensor) => op.slice(x, [1], [x.shape[1] as number], [1]);

/**
 * The CAE pretraining model as a step model: declares its inputs and parameters (reference names)
 * and returns { loss, loss_rec, loss_align } with loss = rec + alignWeight * align.
 */
export function caePretrainModel(c: CaeConfig): StepModel {
  return (g: Graph): LossTerms => {
    const { side, numVisible } = gridOf(c);
    const b = c.batch;
    g.matmulDtype = c.precision === 'fp16' ? 'float16' : 'float32';
    const images = g.input(CAE_INPUTS.images, 'float32', [b, c.inChans, c.imageSize, c.imageSize]);
    const visibleIndex = g.input(CAE_INPUTS.visibleIndex, 'int64', [b, numVisible]);
    const maskedIndex = g.input(CAE_INPUTS.maskedIndex, 'int64', [b, c.numMasked]);
    const targetTokens =
      c.target === 'tokens' ? g.input(CAE_INPUTS.targetTokens, 'int64', [b, c.numMasked]) : undefined;
    const keep = (name: string, depth: number) =>
      c.dropPathRate > 0 ? g.input(name, 'float32', [depth, b]) : undefined;
    const keepEncoder = keep(CAE_INPUTS.keepEncoder, c.depth);
    const keepRegressor = keep(CAE_INPUTS.keepRegressor, c.regressorDepth);
    const keepDecoder = keep(CAE_INPUTS.keepDecoder, c.decoderDepth);
    const keepAlignment = keep(CAE_INPUTS.keepAlignment, c.depth);

    const encoded = g.withScope('encoder', () => caeEncoder(c, images, visibleIndex, keepEncoder));
    const visible = toRegressorWidth(c, withoutCls(encoded)); // [B, Nv, Dd]

    // Alignment target: the same encoder (shared weights) on the masked patches, under stop-gradient.
    const target = g.reuseParams(() => {
      const latents = g.withScope('encoder', () => caeEncoder(c, images, maskedIndex, keepAlignment));
      return stopGradient(toRegressorWidth(c, withoutCls(latents))); // [B, Nm, Dd]
    });

    const table = g.constant(sincosTable(side, c.decoderEmbedDim), 'rd_pos_table'); // [N, Dd]
    const posMasked = op.gather(table, maskedIndex, 0); // [B, Nm, Dd]
    const posVisible = op.gather(table, visibleIndex, 0); // [B, Nv, Dd]
    const maskToken = g.param('mask_token', [1, 1, c.decoderEmbedDim], {
      init: { kind: 'trunc_normal', std: 0.02, limit: 1 },
    });
    const queries = op.expand(maskToken, [b, c.numMasked, c.decoderEmbedDim]);
    const predicted = g.withScope('regresser', () =>
      caeRegressor(c, queries, visible, posMasked, posVisible, keepRegressor),
    ); // Z_m: [B, Nm, Dd]
    const out = g.withScope('decoder', () => caeDecoder(c, predicted, posMasked, keepDecoder)); // [B, Nm, K]

    const lossRec =
      c.target === 'tokens'
        ? crossEntropy(
            op.reshape(out, [b * c.numMasked, decoderOutputs(c)]),
            op.reshape(targetTokens!, [b * c.numMasked]),
          )
        : mse(out, pixelTargets(c, images, maskedIndex));
    const lossAlign = mse(predicted, target);
    const loss = c.alignWeight === 0 ? lossRec : op.add(lossRec, op.mul(lossAlign, c.alignWeight));
    return { loss, loss_rec: lossRec, loss_align: lossAlign };
  };
}

/**
 * The deployment encoder: images [batch (dynamic), C, H, W] -> tokens [batch, 1 + N, D] (cls, then
 * every patch in row-major order, after the final norm). Parameters named `encoder.*`.
 */
export function buildEncoderGraph(c: CaeConfig): Graph {
  const g = new Graph('cae_encoder');
  const images = g.input(CAE_INPUTS.images, 'float32', ['batch', c.inChans, c.imageSize, c.imageSize]);
  g.output(
    'tokens',
    g.withScope('encoder', () => caeEncoder(c, images)),
  );
  return g;
}

/** Parameters of the pretraining model (declaration order), without building any graph twice. */
export function caeParams(c: CaeConfig): Graph['params'] {
  const g = new Graph('params');
  caePretrainModel(c)(g);
  return g.params;
}
