import { apply1 } from '../core/apply';
import { defineOp, OpSpec } from '../core/op-spec';
import { normalizeAxis } from '../core/shape';
import { Tensor } from '../core/tensor';
import { constInts } from './op-helpers';

export interface ReduceAttrs {
  readonly keepdims?: number;
  readonly noop_with_empty_axes?: number;
  readonly [k: string]: number | undefined;
}

function reduceOp(opType: string): OpSpec<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    opType,
    attrKinds: { keepdims: 'int', noop_with_empty_axes: 'int' },
    infer: ([x, axes], { keepdims = 1 }) => {
      const ax = axes ? constInts(axes, `${opType} axes`).map((a) => normalizeAxis(a, x!.rank)) : [];
      const reduced = (i: number) => ax.length === 0 || ax.includes(i);
      const shape = keepdims
        ? x!.shape.map((d, i) => (reduced(i) ? 1 : d))
        : x!.shape.filter((_, i) => !reduced(i));
      return [{ dtype: x!.dtype, shape }];
    },
  });
}

export const ReduceSum = reduceOp('ReduceSum');
export const ReduceMean = reduceOp('ReduceMean');
export const ReduceMax = reduceOp('ReduceMax');
export const ReduceSumSquare = reduceOp('ReduceSumSquare');

export interface ReduceOptions {
  readonly keepdims?: boolean;
}

function reducer(spec: OpSpec<ReduceAttrs>) {
  /** Reduces x over `axes` (all axes when omitted); keepdims keeps reduced dims as 1 (default false). */
  return (x: Tensor, axes?: readonly number[], { keepdims = false }: ReduceOptions = {}): Tensor =>
    apply1(spec, [x, axes && axes.length > 0 ? x.graph.int64s(axes) : undefined], {
      keepdims: keepdims ? 1 : 0,
    });
}

export const reduceSum = reducer(ReduceSum);
export const reduceMean = reducer(ReduceMean);
export const reduceMax = reducer(ReduceMax);
export const reduceSumSquare = reducer(ReduceSumSquare);
