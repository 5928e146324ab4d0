import { GraphBuildError } from '../../core/errors';
import { normalizeAxis } from '../../core/shape';
import type { Tensor } from '../../core/tensor';
import { toNumbers } from '../../core/tensor-data';
import * as op from '../../ops';
import { dy0, GradRule, reduceToShape, zeros } from '../grad-rule';

/** Ops that only rearrange or relabel elements: the gradient is reshaped back. */
const reshapeBack: GradRule = {
  nondifferentiable: [1],
  backward: (ctx) => [op.reshape(dy0(ctx), ctx.x[0]!.shape)],
};

const constValues = (t: Tensor | undefined): number[] | undefined =>
  t?.value ? toNumbers(t.value) : undefined;

export const SHAPE_RULES: Readonly<Record<string, GradRule>> = {
  Reshape: reshapeBack,
  Unsqueeze: reshapeBack,
  Squeeze: reshapeBack,
  Transpose: {
    backward: (ctx) => {
      const perm =
        (ctx.node.attrs.perm as readonly number[] | undefined) ??
        ctx.x[0]!.shape.map((_, i, s) => s.length - 1 - i);
      const inverse = perm.map((_, i) => perm.indexOf(i));
      const g = dy0(ctx);
      // A gradient that is itself a transpose (MatMul's dB for k^T) is composed with it: one
      // Transpose, or none when the two cancel.
      const inner = g.producer?.spec.opType === 'Transpose' ? g.producer : undefined;
      const innerPerm = inner?.attrs.perm as readonly number[] | undefined;
      if (!inner || !innerPerm) return [op.transpose(g, inverse)];
      const composed = inverse.map((i) => innerPerm[i]);
      const source = inner.inputs[0]!;
      return [composed.every((p, i) => p === i) ? source : op.transpose(source, composed)];
    },
  },
  Expand: { nondifferentiable: [1], backward: (ctx) => [reduceToShape(dy0(ctx), ctx.x[0]!.shape)] },
  Concat: {
    backward: (ctx) => {
      const axis = normalizeAxis((ctx.node.attrs.axis as number | undefined) ?? 0, ctx.x[0]!.rank);
      const sizes = ctx.x.map((t) => t!.shape[axis] as number);
      const parts = op.split(dy0(ctx), sizes, axis);
      return parts.map((p, i) => (ctx.needs[i] ? p : undefined));
    },
  },
  Split: {
    nondifferentiable: [1],
    backward: (ctx) => {
      const axis = (ctx.node.attrs.axis as number | undefined) ?? 0;
      const parts = ctx.y.map((y, i) => ctx.dy[i] ?? zeros(y, y));
      return [op.concat(parts, axis)];
    },
  },
  Slice: {
    nondifferentiable: [1, 2, 3, 4],
    backward: (ctx) => {
      const [x, starts, , axesT, stepsT] = ctx.x;
      const st = constValues(starts)!;
      const axes = (constValues(axesT) ?? st.map((_, i) => i)).map((a) => normalizeAxis(a, x!.rank));
      const steps = constValues(stepsT) ?? st.map(() => 1);
      if (steps.some((s) => s !== 1))
        throw new GraphBuildError('Slice gradient supports step 1 only', 'Slice');
      const g = dy0(ctx);
      const begins = axes.map((a, i) => {
        const dim = x!.shape[a] as number;
        return Math.min(Math.max(st[i] < 0 ? st[i] + dim : st[i], 0), dim);
      });
      const endPads = axes.map((a, i) => (x!.shape[a] as number) - begins[i] - (g.shape[a] as number));
      return [op.pad(g, begins, endPads, { axes })];
    },
  },
  Pad: {
    nondifferentiable: [1, 2, 3],
    backward: (ctx) => {
      const [x, pads, , axesT] = ctx.x;
      const p = constValues(pads)!;
      const n = p.length / 2;
      const axes = constValues(axesT) ?? x!.shape.map((_, i) => i);
      return [
        op.pad(
          dy0(ctx),
          p.slice(0, n).map((v) => -v),
          p.slice(n).map((v) => -v),
          { axes },
        ),
      ];
    },
  },
};
