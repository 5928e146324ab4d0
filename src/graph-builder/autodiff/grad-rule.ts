import { GraphBuildError } from '../core/errors';
import type { Node } from '../core/node';
import { Dim, formatShape, Shape } from '../core/shape';
import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/** What a gradient rule sees: the forward node and the gradients arriving at its outputs. */
export interface GradContext {
  readonly node: Node;
  /** The forward node's inputs (undefined: omitted optional input). */
  readonly x: readonly (Tensor | undefined)[];
  /** The forward node's outputs. */
  readonly y: readonly Tensor[];
  /** Gradient of the loss with respect to each output; undefined where none flows. */
  readonly dy: readonly (Tensor | undefined)[];
  /** Which inputs need a gradient (on the path to a `wrt` tensor and differentiable). */
  readonly needs: readonly boolean[];
}

/**
 * One entry of the gradient table: returns one gradient per input (undefined: none or not needed).
 * `nondifferentiable` lists inputs that never get a gradient (indices, shapes, conditions); `zero`
 * marks float-output ops whose outputs carry no gradient (piecewise constants, stop-gradient).
 * Ops with integer or bool outputs (Equal, Shape, ...) need no entry: no gradient reaches them.
 */
export type GradRule =
  | {
      readonly nondifferentiable?: readonly number[];
      readonly backward: (ctx: GradContext) => readonly (Tensor | undefined)[];
    }
  | { readonly zero: string };

/** The single gradient arriving at a single-output op. */
export function dy0(ctx: GradContext): Tensor {
  const g = ctx.dy[0];
  if (!g) throw new GraphBuildError(`${ctx.node.spec.opType}: no gradient at its output`);
  return g;
}

/**
 * Sums a broadcast gradient back to the shape of the operand it was broadcast from
 * (numpy broadcasting in reverse): leading dims and dims that were 1 are summed out.
 */
export function reduceToShape(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  if (lead < 0)
    throw new GraphBuildError(`cannot reduce gradient ${formatShape(g.shape)} to ${formatShape(shape)}`);
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  if (axes.length === 0) return op.reshape(g, shape);
  const leading = axes.every((axis, i) => axis === i);
  if (leading && g.dtype === 'float32' && g.shape.every((d) => typeof d === 'number'))
    return op.reshape(sumLeadingAxes(g, axes.length), shape);
  return op.reshape(op.reduceSum(g, axes, { keepdims: true }), shape);
}

/**
 * The sum over the first `count` axes as a matrix product, ones [1, P] @ g [P, Q]: a bias gradient
 * (dY [B, N, D] -> [D]) this way takes 0.26-0.69x the time of ReduceSum over the leading axes on
 * ORT's CPU kernels (measured for the shapes of cae-tiny-28 and cae-small), whose reduction along a
 * leading axis is the slow direction. Returns [1, Q]; the caller reshapes. The MFU count
 * (analysis/flops.ts) recognizes this `ones @ g` and leaves it out: it is a sum, not a model matmul.
 */
function sumLeadingAxes(g: Tensor, count: number): Tensor {
  const dims = g.shape as number[];
  const p = dims.slice(0, count).reduce((a, d) => a * d, 1);
  const q = dims.slice(count).reduce((a, d) => a * d, 1);
  if (p === 1) return op.reshape(g, [1, q]);
  const ones = op.expand(g.graph.scalar(1, 'float32'), [1, p]);
  return op.matmul(ones, op.reshape(g, [p, q]));
}

/** Zeros of a static shape, as an Expand of a scalar (no large constant in the model). */
export function zeros(like: { dtype: Tensor['dtype']; shape: Shape }, graphOf: Tensor): Tensor {
  const zero = graphOf.graph.scalar(0, like.dtype);
  return like.shape.length === 0 ? zero : op.expand(zero, like.shape as Dim[]);
}
