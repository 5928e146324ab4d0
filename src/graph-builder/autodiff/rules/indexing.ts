import { normalizeAxis } from '../../core/shape';
import type { Tensor } from '../../core/tensor';
import * as op from '../../ops';
import { dy0, GradRule, zeros } from '../grad-rule';

const axisAttr = (attrs: Readonly<Record<string, unknown>>, rank: number) =>
  normalizeAxis((attrs.axis as number | undefined) ?? 0, rank);

const asInt64 = (t: Tensor) => op.cast(t, 'int64');

const product = (dims: readonly (number | string)[]) => dims.reduce<number>((a, d) => a * (d as number), 1);

/**
 * Gather: the gradient is scattered (with accumulation, as indices may repeat) into zeros shaped
 * like the data, after flattening to data [P, N, Q] / indices [K] / gradient [P, K, Q].
 */
const gatherRule: GradRule = {
  nondifferentiable: [1],
  backward: (ctx) => {
    const [x, indices] = ctx.x as Tensor[];
    const axis = axisAttr(ctx.node.attrs, x.rank);
    const p = product(x.shape.slice(0, axis));
    const q = product(x.shape.slice(axis + 1));
    const k = product(indices.shape);
    const g3 = op.reshape(dy0(ctx), [p, k, q]);
    const idx = op.expand(op.reshape(asInt64(indices), [1, k, 1]), [p, k, q]);
    const base = zeros({ dtype: x.dtype, shape: [p, x.shape[axis], q] }, x);
    return [op.reshape(op.scatterElements(base, idx, g3, { axis: 1, reduction: 'add' }), x.shape)];
  },
};

const gatherElementsRule: GradRule = {
  nondifferentiable: [1],
  backward: (ctx) => {
    const [x, indices] = ctx.x as Tensor[];
    const axis = axisAttr(ctx.node.attrs, x.rank);
    return [op.scatterElements(zeros(x, x), indices, dy0(ctx), { axis, reduction: 'add' })];
  },
};

/** Written positions take their gradient from updates; with 'add', data keeps all of it. */
const scatterElementsRule: GradRule = {
  nondifferentiable: [1],
  backward: (ctx) => {
    const [data, indices, updates] = ctx.x as Tensor[];
    const axis = axisAttr(ctx.node.attrs, data.rank);
    const g = dy0(ctx);
    const accumulate = ctx.node.attrs.reduction === 'add';
    const dData = ctx.needs[0]
      ? accumulate
        ? g
        : op.scatterElements(g, indices, zeros(updates, updates), { axis })
      : undefined;
    const dUpdates = ctx.needs[2] ? op.gatherElements(g, indices, axis) : undefined;
    return [dData, undefined, dUpdates];
  },
};

export const INDEXING_RULES: Readonly<Record<string, GradRule>> = {
  Gather: gatherRule,
  GatherElements: gatherElementsRule,
  ScatterElements: scatterElementsRule,
  OneHot: { zero: 'built from indices only' },
};
