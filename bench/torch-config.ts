import type { CaeConfig } from '../src/graph-builder/cae/config';

/** Our config in the keys of bench/torch/cae_model.py (the PyTorch implementation used by the benches). */
export function torchConfig(c: CaeConfig) {
  return {
    img_size: c.imageSize,
    patch_size: c.patchSize,
    in_chans: c.inChans,
    embed_dim: c.embedDim,
    depth: c.depth,
    num_heads: c.numHeads,
    decoder_embed_dim: c.decoderEmbedDim,
    regressor_depth: c.regressorDepth,
    decoder_depth: c.decoderDepth,
    decoder_num_heads: c.decoderNumHeads,
    mlp_ratio: c.mlpRatio,
    layer_scale_init: c.layerScaleInit,
    decoder_layer_scale_init: c.decoderLayerScaleInit,
    eps: c.eps,
    target: c.target,
    num_classes: c.vocabSize,
    norm_pix_loss: c.normPixLoss,
    align_weight: c.alignWeight,
  };
}
