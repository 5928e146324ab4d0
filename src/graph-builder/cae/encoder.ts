import type { Tensor } from '../core/tensor';
import { fromNumbers } from '../core/tensor-data';
import { block, BlockConfig } from '../modules/block';
import { layerNorm } from '../modules/layer-norm';
import * as op from '../ops';
import { CaeConfig, gridOf } from './config';
import { sincosTable } from './sincos';

const TRUNC_NORMAL = { kind: 'trunc_normal', std: 0.02, limit: 1 } as const;

/** Row i of a [L, B] keep-decision input as [B]; undefined when drop path is off. */
export function keepRow(keep: Tensor | undefined, i: number): Tensor | undefined {
  return keep && op.squeeze(op.slice(keep, [i], [i + 1], [0]), [0]);
}

/** Patch embedding (Conv2d k = s = patch). images: [B, C, H, W] -> [B, N, D]. */
function patchEmbed(images: Tensor, c: CaeConfig): Tensor {
  const g = images.graph;
  const { numPatches } = gridOf(c);
  return g.withScope('patch_embed', () =>
    g.withScope('proj', () => {
      const w = g.param('weight', [c.embedDim, c.inChans, c.patchSize, c.patchSize], { init: TRUNC_NORMAL });
      const b = g.param('bias', [c.embedDim], { init: { kind: 'zeros' } });
      const grid = op.conv(images, w, b, { strides: [c.patchSize, c.patchSize] }); // [B, D, s, s]
      return op.transpose(op.reshape(grid, [images.shape[0], c.embedDim, numPatches]), [0, 2, 1]);
    }),
  );
}

/**
 * Rows of x at per-sample indices, as a one-hot selection matmul. x: [B, N, D], index: [B, K] int64
 * -> [B, K, D]. Exact (each output sums one row and zeros), its gradient is the transposed matmul,
 * and the only int64 work is comparing [B, K] indices with 0..N-1. GatherElements needed the index
 * expanded to [B, K, D] int64, which GPU providers build on the CPU and copy over every step, and a
 * ScatterElements in the backward; the extra matmul is B*K*N*D multiply-adds, noise next to a block.
 */
export function takeRows(x: Tensor, index: Tensor): Tensor {
  const n = x.shape[1] as number;
  const positions = x.graph.constant(
    fromNumbers(
      'int64',
      [1, 1, n],
      Array.from({ length: n }, (_, i) => i),
    ),
    'row_positions',
  );
  const select = op.cast(op.equal(op.unsqueeze(index, [2]), positions), x.dtype); // [B, K, N]
  return op.matmul(select, x);
}

export const encoderBlockConfig = (c: CaeConfig): BlockConfig => ({
  heads: c.numHeads,
  mlpRatio: c.mlpRatio,
  layerScaleInit: c.layerScaleInit,
  eps: c.eps,
});

/**
 * The CAE encoder (`encoder.*` in the current scope): a ViT over the visible patches only, plus cls.
 * images: [B, C, H, W]; visibleIndex: [B, Nv] int64 ascending, or undefined for all patches
 * (deployment); keep: [depth, B] drop-path decisions or undefined. Returns [B, 1 + Nv, D] after the
 * final norm, cls first.
 */
export function caeEncoder(c: CaeConfig, images: Tensor, visibleIndex?: Tensor, keep?: Tensor): Tensor {
  const x = encoderBlocks(c, images, visibleIndex, keep);
  return x.graph.withScope('norm', () => layerNorm(x, c.eps));
}

/**
 * The encoder before its final norm (fine-tuning pools these tokens and normalizes them with its own
 * `fc_norm` instead). Same inputs as caeEncoder; returns [B, 1 + Nv, D].
 */
export function encoderBlocks(
  c: CaeConfig,
  images: Tensor,
  visibleIndex?: Tensor,
  keep?: Tensor,
  /** Weight decay on cls_token: on in pretraining (the spec decays every tensor of rank > 1), off in fine-tuning. */
  options: { decayClsToken?: boolean } = {},
): Tensor {
  const g = images.graph;
  const { side } = gridOf(c);
  const numPatches = side * side;
  const learned =
    c.learnedPositions &&
    g.param('pos_embed', [1, 1 + numPatches, c.embedDim], { init: TRUNC_NORMAL, weightDecay: false });
  const table = learned
    ? op.reshape(op.slice(learned, [1], [1 + numPatches], [1]), [numPatches, c.embedDim])
    : g.constant(sincosTable(side, c.embedDim), 'encoder_pos_table'); // [N, D]
  // Positions are added to every patch, then the visible rows are taken (one selection, and for a
  // learned table its gradient needs no gather of its own).
  let tokens = op.add(patchEmbed(images, c), table); // [B, N, D]
  if (visibleIndex) tokens = takeRows(tokens, visibleIndex); // [B, Nv, D]
  let cls = g.param('cls_token', [1, 1, c.embedDim], {
    init: TRUNC_NORMAL,
    weightDecay: options.decayClsToken ?? true,
  });
  // CAE's cls has a zero position; a learned table has a cls row.
  if (learned) cls = op.add(cls, op.slice(learned, [0], [1], [1]));
  // expandAs keeps a dynamic batch dim dynamic.
  let x = op.concat([op.expandAs(cls, op.slice(tokens, [0], [1], [1])), tokens], 1); // [B, 1 + Nv, D]
  for (let i = 0; i < c.depth; i++) {
    x = g.withScope('blocks', () => g.withScope(i, () => block(x, encoderBlockConfig(c), keepRow(keep, i))));
  }
  return x;
}
