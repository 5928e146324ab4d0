import type { Tensor } from '../../core/tensor';
import * as op from '../../ops';
import { dy0, GradRule, reduceToShape } from '../grad-rule';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Each input receives f(g) summed back over the dims it was broadcast along. */
function broadcastRule(...perInput: ((g: Tensor, x: readonly Tensor[], y: Tensor) => Tensor)[]): GradRule {
  return {
    backward: (ctx) => {
      const g = dy0(ctx);
      const x = ctx.x as Tensor[];
      return perInput.map((f, i) =>
        ctx.needs[i] ? reduceToShape(f(g, x, ctx.y[0]), x[i].shape) : undefined,
      );
    },
  };
}

/** Unary op with dx = g * f'(x, y). */
function unaryRule(local: (g: Tensor, x: Tensor, y: Tensor) => Tensor): GradRule {
  return { backward: (ctx) => [local(dy0(ctx), ctx.x[0]!, ctx.y[0])] };
}

/** Max/Min over inputs: the gradient goes to the inputs equal to the result, split evenly on ties. */
const selectRule: GradRule = {
  backward: (ctx) => {
    const g = dy0(ctx);
    const y = ctx.y[0];
    const masks = ctx.x.map((x) => op.cast(op.equal(x!, y), y.dtype));
    const count = masks.length === 1 ? undefined : op.sum(...masks);
    return ctx.x.map((x, i) =>
      ctx.needs[i]
        ? reduceToShape(op.mul(g, count ? op.div(masks[i], count) : masks[i]), x!.shape)
        : undefined,
    );
  },
};

export const ELEMENTWISE_RULES: Readonly<Record<string, GradRule>> = {
  Add: broadcastRule(
    (g) => g,
    (g) => g,
  ),
  Sub: broadcastRule(
    (g) => g,
    (g) => op.neg(g),
  ),
  Mul: broadcastRule(
    (g, [, b]) => op.mul(g, b),
    (g, [a]) => op.mul(g, a),
  ),
  Div: broadcastRule(
    (g, [, b]) => op.div(g, b),
    (g, [, b], y) => op.neg(op.div(op.mul(g, y), b)),
  ),
  Pow: broadcastRule(
    (g, [a, b]) => op.mul(g, op.mul(b, op.pow(a, op.sub(b, 1)))),
    (g, [a], y) => op.mul(g, op.mul(y, op.log(a))),
  ),
  Sum: {
    backward: (ctx) => ctx.x.map((x, i) => (ctx.needs[i] ? reduceToShape(dy0(ctx), x!.shape) : undefined)),
  },
  Max: selectRule,
  Min: selectRule,
  Neg: unaryRule((g) => op.neg(g)),
  Exp: unaryRule((g, _x, y) => op.mul(g, y)),
  Log: unaryRule((g, x) => op.div(g, x)),
  Sqrt: unaryRule((g, _x, y) => op.div(op.mul(g, 0.5), y)),
  Reciprocal: unaryRule((g, _x, y) => op.neg(op.mul(g, op.mul(y, y)))),
  Erf: unaryRule((g, x) => op.mul(g, op.mul(op.exp(op.neg(op.mul(x, x))), TWO_OVER_SQRT_PI))),
  // d/dx x Phi(x) = Phi(x) + x phi(x) = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi).
  Gelu: unaryRule((g, x) => {
    const cdf = op.add(op.mul(op.erf(op.mul(x, Math.SQRT1_2)), 0.5), 0.5);
    const xPdf = op.mul(x, op.exp(op.mul(op.mul(x, x), -0.5)));
    return op.mul(g, op.add(cdf, op.mul(xPdf, INV_SQRT_2PI)));
  }),
  Tanh: unaryRule((g, _x, y) => op.mul(g, op.sub(1, op.mul(y, y)))),
  Sigmoid: unaryRule((g, _x, y) => op.mul(g, op.mul(y, op.sub(1, y)))),
  Relu: unaryRule((g, x) => op.where(op.greater(x, 0), g, 0)),
  Abs: unaryRule((g, x) => op.mul(g, op.sign(x))),
  Identity: unaryRule((g) => g),
  Cast: unaryRule((g, x) => op.cast(g, x.dtype)),
  Clip: {
    nondifferentiable: [1, 2],
    backward: (ctx) => {
      const [x, lo, hi] = ctx.x;
      let g = dy0(ctx);
      if (hi) g = op.where(op.greater(x!, hi), 0, g);
      if (lo) g = op.where(op.less(x!, lo), 0, g);
      return [g];
    },
  },
  Where: {
    nondifferentiable: [0],
    backward: (ctx) => {
      const [cond, a, b] = ctx.x as Tensor[];
      const g = dy0(ctx);
      return [
        undefined,
        ctx.needs[1] ? reduceToShape(op.where(cond, g, 0), a.shape) : undefined,
        ctx.needs[2] ? reduceToShape(op.where(cond, 0, g), b.shape) : undefined,
      ];
    },
  },
  Sign: { zero: 'piecewise constant' },
};
