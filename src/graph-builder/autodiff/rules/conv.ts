import { GraphBuildError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import * as op from '../../ops';
import { dy0, GradRule } from '../grad-rule';

/**
 * Conv gradient for patchify convolutions (stride = kernel, no padding, dilation 1, one group), the
 * only kind a ViT uses. Non-overlapping patches make the conv a matmul over extracted patches:
 * patches [B*Gh*Gw, C*k*k] @ W^T [C*k*k, M]; both gradients are matmuls plus the inverse rearrangement.
 */
const patchifyConvRule: GradRule = {
  backward: (ctx) => {
    const [x, w, b] = ctx.x as [Tensor, Tensor, Tensor | undefined];
    const {
      strides,
      pads,
      dilations,
      group = 1,
    } = ctx.node.attrs as {
      strides?: number[];
      pads?: number[];
      dilations?: number[];
      group?: number;
    };
    const [bs, c, h, wd] = x.shape as number[];
    const [m, , kh, kw] = w.shape as number[];
    const patchify =
      x.rank === 4 &&
      group === 1 &&
      strides?.[0] === kh &&
      strides?.[1] === kw &&
      (pads ?? [0]).every((p) => p === 0) &&
      (dilations ?? [1]).every((d) => d === 1) &&
      h % kh === 0 &&
      wd % kw === 0;
    if (!patchify) {
      throw new GraphBuildError(
        'Conv gradient is implemented for patchify convolutions only (stride = kernel, no padding, no dilation, group 1)',
        'Conv',
        ctx.node.callSite,
      );
    }
    const gh = h / kh;
    const gw = wd / kw;
    const g = dy0(ctx); // [B, M, Gh, Gw]
    const gRows = op.reshape(op.transpose(g, [0, 2, 3, 1]), [bs * gh * gw, m]);
    const wRows = op.reshape(w, [m, c * kh * kw]);
    let dx: Tensor | undefined;
    if (ctx.needs[0]) {
      const dPatches = op.matmul(gRows, wRows); // [B*Gh*Gw, C*kh*kw]
      const six = op.reshape(dPatches, [bs, gh, gw, c, kh, kw]);
      dx = op.reshape(op.transpose(six, [0, 3, 1, 4, 2, 5]), [bs, c, h, wd]);
    }
    let dw: Tensor | undefined;
    if (ctx.needs[1]) {
      const six = op.reshape(x, [bs, c, gh, kh, gw, kw]);
      const patches = op.reshape(op.transpose(six, [0, 2, 4, 1, 3, 5]), [bs * gh * gw, c * kh * kw]);
      dw = op.reshape(op.gemm(gRows, patches, undefined, { transA: 1 }), w.shape);
    }
    const db = b && ctx.needs[2] ? op.reduceSum(g, [0, 2, 3]) : undefined;
    return [dx, dw, db];
  },
};

export const CONV_RULES: Readonly<Record<string, GradRule>> = { Conv: patchifyConvRule };
