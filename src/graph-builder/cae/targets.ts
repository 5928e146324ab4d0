import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { CaeConfig, gridOf } from './config';
import { takeRows } from './encoder';

/**
 * Per-patch pixel vectors in MAE order (row-major patches; within a patch p, q, then channel).
 * images: [B, C, H, W] -> [B, N, p*p*C].
 */
export function patchify(c: CaeConfig, images: Tensor): Tensor {
  const { side, numPatches, patchDim } = gridOf(c);
  const p = c.patchSize;
  const b = images.shape[0];
  const six = op.reshape(images, [b, c.inChans, side, p, side, p]);
  return op.reshape(op.transpose(six, [0, 2, 4, 3, 5, 1]), [b, numPatches, patchDim]);
}

/** Inverse of patchify. patches: [B, N, p*p*C] -> [B, C, H, W]. */
export function unpatchify(c: CaeConfig, patches: Tensor): Tensor {
  const { side } = gridOf(c);
  const p = c.patchSize;
  const b = patches.shape[0];
  const six = op.reshape(patches, [b, side, side, p, p, c.inChans]);
  return op.reshape(op.transpose(six, [0, 5, 1, 3, 2, 4]), [b, c.inChans, c.imageSize, c.imageSize]);
}

/**
 * Pixel targets of the masked patches, normalized per patch when normPixLoss (MAE's norm_pix_loss:
 * (t - mean) / sqrt(var + 1e-6), var unbiased). images: [B, C, H, W], maskedIndex: [B, Nm] -> [B, Nm, P].
 */
export function pixelTargets(c: CaeConfig, images: Tensor, maskedIndex: Tensor): Tensor {
  const t = takeRows(patchify(c, images), maskedIndex);
  if (!c.normPixLoss) return t;
  const n = gridOf(c).patchDim;
  const mean = op.reduceMean(t, [2], { keepdims: true });
  const centered = op.sub(t, mean);
  const variance = op.div(op.reduceSum(op.mul(centered, centered), [2], { keepdims: true }), n - 1);
  return op.div(centered, op.sqrt(op.add(variance, 1e-6)));
}
