import { Graph } from '../core/graph';
import * as op from '../ops';
import { CaeConfig, gridOf } from './config';
import { caeDecoder } from './decoder';
import { caeEncoder } from './encoder';
import { CAE_INPUTS, toRegressorWidth, withoutCls } from './model';
import { caeRegressor } from './regressor';
import { sincosTable } from './sincos';

/**
 * The paper's reconstruction figure as one inference graph (pixel targets), on the pretraining
 * model's parameter names:
 * - `masked_pred` [B, Nm, P]: the regular pretraining path, encoder on visible patches -> regressor
 *   -> decoder, predictions for the masked patches;
 * - `full_pred` [B, N, P]: every patch through the encoder, the regressor skipped, all latents with
 *   their positions through the decoder.
 * Predictions are in the target space (per-patch normalized when normPixLoss).
 */
export function buildReconstructionGraph(c: CaeConfig, batch: number): Graph {
  if (c.target !== 'pixels')
    throw new Error('reconstructions need a pixel-target model (built with --target pixels)');
  const g = new Graph('cae_reconstruct');
  const { side, numPatches, numVisible } = gridOf(c);
  const images = g.input(CAE_INPUTS.images, 'float32', [batch, c.inChans, c.imageSize, c.imageSize]);
  const visibleIndex = g.input(CAE_INPUTS.visibleIndex, 'int64', [batch, numVisible]);
  const maskedIndex = g.input(CAE_INPUTS.maskedIndex, 'int64', [batch, c.numMasked]);
  const table = g.constant(sincosTable(side, c.decoderEmbedDim), 'rd_pos_table');

  const visible = toRegressorWidth(
    c,
    withoutCls(g.withScope('encoder', () => caeEncoder(c, images, visibleIndex))),
  );
  const posMasked = op.gather(table, maskedIndex, 0);
  const posVisible = op.gather(table, visibleIndex, 0);
  const maskToken = g.param('mask_token', [1, 1, c.decoderEmbedDim]);
  const queries = op.expand(maskToken, [batch, c.numMasked, c.decoderEmbedDim]);
  const predicted = g.withScope('regresser', () => caeRegressor(c, queries, visible, posMasked, posVisible));
  g.output(
    'masked_pred',
    g.withScope('decoder', () => caeDecoder(c, predicted, posMasked)),
  );

  const all = g.reuseParams(() =>
    toRegressorWidth(c, withoutCls(g.withScope('encoder', () => caeEncoder(c, images)))),
  ); // [B, N, Dd]
  const positions = op.expand(op.unsqueeze(table, [0]), [batch, numPatches, c.decoderEmbedDim]);
  g.output(
    'full_pred',
    g.reuseParams(() => g.withScope('decoder', () => caeDecoder(c, all, positions))),
  );
  return g;
}
