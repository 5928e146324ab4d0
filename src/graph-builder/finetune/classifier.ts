import { CaeConfig } from '../cae/config';
import { encoderBlocks } from '../cae/encoder';
import { Graph } from '../core/graph';
import type { Tensor } from '../core/tensor';
import { layerNorm } from '../modules/layer-norm';
import { linear } from '../modules/linear';
import { softTargetCrossEntropy } from '../modules/losses';
import * as op from '../ops';
import type { StepModel } from '../training/step-graphs';

/** Fine-tuning graph inputs. */
export const FINETUNE_INPUTS = {
  images: 'images',
  /** [B, classes] float: one-hot with label smoothing, or mixed by mixup/cutmix (made on the host). */
  targets: 'targets',
  keep: 'drop_path_encoder',
} as const;

/** The reference's small head init: trunc_normal(0.02) scaled by init_scale 0.001. */
const HEAD_INIT = { kind: 'normal', std: 0.02 * 0.001 } as const;

/**
 * The fine-tuning classifier of the CAE reference (BEiT's, with mean pooling): the encoder over every
 * patch (drop path from `keep`), no final `encoder.norm`; the mean of the patch tokens (cls left out)
 * through `fc_norm`; a Linear `head`. images: [B, C, H, W] -> logits [B, classes].
 */
export function classifierLogits(c: CaeConfig, images: Tensor, classes: number, keep?: Tensor): Tensor {
  const g = images.graph;
  // No weight decay on norms, biases, tokens and position tables (the reference's fine-tuning groups).
  const tokens = g.withScope('encoder', () =>
    encoderBlocks(c, images, undefined, keep, { decayClsToken: false }),
  ); // [B, 1 + N, D]
  const n = tokens.shape[1] as number;
  const pooled = op.reduceMean(op.slice(tokens, [1], [n], [1]), [1]); // [B, D]
  const normed = g.withScope('fc_norm', () => layerNorm(pooled, c.eps));
  return g.withScope('head', () => linear(normed, classes, { init: HEAD_INIT }));
}

/** Training form: images, soft targets [B, classes] (and drop-path keeps) -> soft-target cross-entropy. */
export function finetuneModel(c: CaeConfig, classes: number): StepModel {
  return (g: Graph) => {
    const b = c.batch;
    const images = g.input(FINETUNE_INPUTS.images, 'float32', [b, c.inChans, c.imageSize, c.imageSize]);
    const targets = g.input(FINETUNE_INPUTS.targets, 'float32', [b, classes]);
    const keep = c.dropPathRate > 0 ? g.input(FINETUNE_INPUTS.keep, 'float32', [c.depth, b]) : undefined;
    return { loss: softTargetCrossEntropy(classifierLogits(c, images, classes, keep), targets) };
  };
}

/** Deployment form: images [batch, C, H, W] -> logits [batch, classes] (no drop path). */
export function buildClassifierGraph(c: CaeConfig, classes: number): Graph {
  const g = new Graph('classifier');
  const images = g.input(FINETUNE_INPUTS.images, 'float32', ['batch', c.inChans, c.imageSize, c.imageSize]);
  g.output('logits', classifierLogits(c, images, classes));
  return g;
}
