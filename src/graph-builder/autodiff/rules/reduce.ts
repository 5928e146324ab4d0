import type { Tensor } from '../../core/tensor';
import { toNumbers } from '../../core/tensor-data';
import { normalizeAxis } from '../../core/shape';
import * as op from '../../ops';
import { dy0, GradContext, GradRule } from '../grad-rule';

/** The reduced axes, and the output gradient reshaped to keepdims form (so it broadcasts over x). */
function keptGradient(ctx: GradContext): { axes: number[]; g: Tensor; count: number } {
  const x = ctx.x[0]!;
  const axesT = ctx.x[1];
  const axes = axesT?.value
    ? toNumbers(axesT.value).map((a) => normalizeAxis(a, x.rank))
    : x.shape.map((_, i) => i);
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const count = axes.reduce((a, i) => a * (x.shape[i] as number), 1);
  return { axes, g: op.reshape(dy0(ctx), keptShape), count };
}

export const REDUCE_RULES: Readonly<Record<string, GradRule>> = {
  ReduceSum: {
    nondifferentiable: [1],
    backward: (ctx) => [op.expand(keptGradient(ctx).g, ctx.x[0]!.shape)],
  },
  ReduceMean: {
    nondifferentiable: [1],
    backward: (ctx) => {
      const { g, count } = keptGradient(ctx);
      return [op.expand(op.mul(g, 1 / count), ctx.x[0]!.shape)];
    },
  },
  ReduceSumSquare: {
    nondifferentiable: [1],
    backward: (ctx) => {
      const x = ctx.x[0]!;
      return [op.mul(op.mul(x, 2), keptGradient(ctx).g)];
    },
  },
  /** The gradient goes to the maximal elements, split evenly on ties. */
  ReduceMax: {
    nondifferentiable: [1],
    backward: (ctx) => {
      const x = ctx.x[0]!;
      const { axes, g } = keptGradient(ctx);
      const yKept = op.reshape(ctx.y[0], g.shape);
      const mask = op.cast(op.equal(x, yKept), x.dtype);
      const count = op.reduceSum(mask, axes, { keepdims: true });
      return [op.mul(op.div(mask, count), g)];
    },
  },
};
