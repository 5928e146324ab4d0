import { normalizeAxis } from '../../core/shape';
import type { Tensor } from '../../core/tensor';
import * as op from '../../ops';
import { dy0, GradRule, reduceToShape } from '../grad-rule';

const axisOf = (ctx: {
  node: { attrs: Readonly<Record<string, unknown>> };
  x: readonly (Tensor | undefined)[];
}) => normalizeAxis((ctx.node.attrs.axis as number | undefined) ?? -1, ctx.x[0]!.rank);

/** dx = y * (g - sum(g * y)) along the softmax axis. */
const softmaxRule: GradRule = {
  backward: (ctx) => {
    const g = dy0(ctx);
    const y = ctx.y[0];
    const dot = op.reduceSum(op.mul(g, y), [axisOf(ctx)], { keepdims: true });
    return [op.mul(y, op.sub(g, dot))];
  },
};

/** dx = g - softmax(x) * sum(g) along the axis. */
const logSoftmaxRule: GradRule = {
  backward: (ctx) => {
    const g = dy0(ctx);
    const total = op.reduceSum(g, [axisOf(ctx)], { keepdims: true });
    return [op.sub(g, op.mul(op.exp(ctx.y[0]), total))];
  },
};

/**
 * LayerNorm backward from the saved statistics, which the rule asks the forward node to output
 * (so ORT computes mean and 1/std once). With x̂ = (x - mean) * invStd over the normalized dims:
 * dx = invStd * (dx̂ - mean(dx̂) - x̂ * mean(dx̂ * x̂)), dx̂ = g * scale.
 */
const layerNormRule: GradRule = {
  backward: (ctx) => {
    const [x, scale, bias] = ctx.x as [Tensor, Tensor, Tensor | undefined];
    const g = dy0(ctx);
    const [, mean, invStd] = x.graph.requestOutputs(ctx.node, 3);
    const axis = axisOf(ctx);
    const axes = x.shape.map((_, i) => i).slice(axis);
    const xhat = op.mul(op.sub(x, op.cast(mean, x.dtype)), op.cast(invStd, x.dtype));
    let dx: Tensor | undefined;
    if (ctx.needs[0]) {
      const dxhat = op.mul(g, scale);
      const meanDxhat = op.reduceMean(dxhat, axes, { keepdims: true });
      const meanDxhatXhat = op.reduceMean(op.mul(dxhat, xhat), axes, { keepdims: true });
      dx = op.mul(op.cast(invStd, x.dtype), op.sub(op.sub(dxhat, meanDxhat), op.mul(xhat, meanDxhatXhat)));
    }
    const dScale = ctx.needs[1] ? reduceToShape(op.mul(g, xhat), scale.shape) : undefined;
    const dBias = bias && ctx.needs[2] ? reduceToShape(g, bias.shape) : undefined;
    return [dx, dScale, dBias];
  },
};

export const NORMALIZATION_RULES: Readonly<Record<string, GradRule>> = {
  Softmax: softmaxRule,
  LogSoftmax: logSoftmaxRule,
  LayerNormalization: layerNormRule,
};
