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
  const summed = axes.length > 0 ? op.reduceSum(g, axes, { keepdims: true }) : g;
  return op.reshape(summed, shape);
}

/** Zeros of a static shape, as an Expand of a scalar (no large constant in the model). */
export function zeros(like: { dtype: Tensor['dtype']; shape: Shape }, graphOf: Tensor): Tensor {
  const zero = graphOf.graph.scalar(0, like.dtype);
  return like.shape.length === 0 ? zero : op.expand(zero, like.shape as Dim[]);
}
