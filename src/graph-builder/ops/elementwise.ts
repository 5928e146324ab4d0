import { apply1 } from '../core/apply';
import { DType } from '../core/dtype';
import { ShapeError } from '../core/errors';
import { defineOp, OpSpec } from '../core/op-spec';
import { broadcastShapes } from '../core/shape';
import { Tensor, TensorLike } from '../core/tensor';
import { foldBroadcast, requireDtype, requireSameDtype } from './op-helpers';

type NoAttrs = Record<string, never>;
const FLOATS: DType[] = ['float32', 'float64', 'float16'];
const NUMERIC: DType[] = [...FLOATS, 'int64', 'int32', 'uint8'];

function binary(opType: string, fn?: (a: number, b: number) => number, result?: DType): OpSpec<NoAttrs> {
  return defineOp<NoAttrs>({
    opType,
    attrKinds: {},
    infer: (inputs) => {
      const dtype = requireSameDtype(inputs);
      if (result !== 'bool') requireDtype(inputs[0]!, NUMERIC, `${opType} input`);
      return [{ dtype: result ?? dtype, shape: broadcastShapes(...inputs.map((t) => t!.shape)) }];
    },
    fold:
      fn &&
      ((inputs, _a, [out]) => [
        foldBroadcast(
          inputs.map((t) => t!),
          out.dtype,
          out.shape,
          fn,
        ),
      ]),
  });
}

function unary(
  opType: string,
  allowed: readonly DType[],
  fn?: (x: number) => number,
  result?: DType,
): OpSpec<NoAttrs> {
  return defineOp<NoAttrs>({
    opType,
    attrKinds: {},
    infer: ([x]) => {
      requireDtype(x!, allowed, `${opType} input`);
      return [{ dtype: result ?? x!.dtype, shape: x!.shape }];
    },
    fold: fn && (([x], _a, [out]) => [foldBroadcast([x!], out.dtype, out.shape, fn)]),
  });
}

export const Add = binary('Add', (a, b) => a + b);
export const Sub = binary('Sub', (a, b) => a - b);
export const Mul = binary('Mul', (a, b) => a * b);
export const Div = binary('Div', (a, b) => a / b);
export const Pow = binary('Pow', (a, b) => a ** b);
export const Equal = binary('Equal', (a, b) => (a === b ? 1 : 0), 'bool');
export const Less = binary('Less', (a, b) => (a < b ? 1 : 0), 'bool');
export const Greater = binary('Greater', (a, b) => (a > b ? 1 : 0), 'bool');

export const Neg = unary('Neg', NUMERIC, (x) => -x);
export const Abs = unary('Abs', NUMERIC, Math.abs);
export const Sign = unary('Sign', NUMERIC, Math.sign);
export const Exp = unary('Exp', FLOATS);
export const Log = unary('Log', FLOATS);
export const Sqrt = unary('Sqrt', FLOATS, Math.sqrt);
export const Reciprocal = unary('Reciprocal', FLOATS, (x) => 1 / x);
export const Erf = unary('Erf', FLOATS);
export const Tanh = unary('Tanh', FLOATS);
export const Sigmoid = unary('Sigmoid', FLOATS);
export const Relu = unary('Relu', NUMERIC);
export const Not = unary('Not', ['bool'], (x) => (x ? 0 : 1));
interface GeluAttrs {
  /** Only 'none' (exact, erf-based: the paper's nn.GELU); the gradient rule is for that form. */
  readonly approximate?: 'none';
  readonly [k: string]: string | undefined;
}

/** Exact GELU as one ONNX op (opset 20): x * Phi(x). One kernel instead of five elementwise passes. */
export const Gelu = defineOp<GeluAttrs>({
  opType: 'Gelu',
  attrKinds: { approximate: 'string' },
  infer: ([x], { approximate = 'none' }) => {
    requireDtype(x!, ['float32', 'float16'], 'Gelu input');
    if (approximate !== 'none') throw new ShapeError(`Gelu: only approximate='none' is supported`);
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
});

export const IsNaN = unary('IsNaN', FLOATS, (x) => (Number.isNaN(x) ? 1 : 0), 'bool');
export const IsInf = unary('IsInf', FLOATS, (x) => (Number.isFinite(x) || Number.isNaN(x) ? 0 : 1), 'bool');

function variadic(opType: 'Max' | 'Min' | 'Sum', fn: (...xs: number[]) => number): OpSpec<NoAttrs> {
  return defineOp<NoAttrs>({
    opType,
    attrKinds: {},
    infer: (inputs) => {
      if (inputs.length === 0) throw new ShapeError(`${opType} needs at least one input`);
      const dtype = requireSameDtype(inputs);
      return [{ dtype, shape: broadcastShapes(...inputs.map((t) => t!.shape)) }];
    },
    fold: (inputs, _a, [out]) => [
      foldBroadcast(
        inputs.map((t) => t!),
        out.dtype,
        out.shape,
        fn,
      ),
    ],
  });
}
export const Max = variadic('Max', Math.max);
export const Min = variadic('Min', Math.min);
export const Sum = variadic('Sum', (...xs) => xs.reduce((a, b) => a + b, 0));

export const Where = defineOp<NoAttrs>({
  opType: 'Where',
  attrKinds: {},
  infer: ([cond, x, y]) => {
    requireDtype(cond!, ['bool'], 'Where condition');
    const dtype = requireSameDtype([x, y]);
    return [{ dtype, shape: broadcastShapes(cond!.shape, x!.shape, y!.shape) }];
  },
  fold: (inputs, _a, [out]) => [
    foldBroadcast(
      inputs.map((t) => t!),
      out.dtype,
      out.shape,
      (c, a, b) => (c ? a : b),
    ),
  ],
});

export const Clip = defineOp<NoAttrs>({
  opType: 'Clip',
  attrKinds: {},
  infer: ([x, min, max]) => {
    requireSameDtype([x, min, max]);
    for (const bound of [min, max]) {
      if (bound && bound.rank !== 0) throw new ShapeError('Clip bounds must be scalars');
    }
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
});

/** a + b with numpy broadcasting; a number takes the other operand's dtype. */
export const add = (a: TensorLike, b: TensorLike): Tensor => apply1(Add, [a, b], {});
export const sub = (a: TensorLike, b: TensorLike): Tensor => apply1(Sub, [a, b], {});
export const mul = (a: TensorLike, b: TensorLike): Tensor => apply1(Mul, [a, b], {});
export const div = (a: TensorLike, b: TensorLike): Tensor => apply1(Div, [a, b], {});
export const pow = (a: TensorLike, b: TensorLike): Tensor => apply1(Pow, [a, b], {});
export const equal = (a: TensorLike, b: TensorLike): Tensor => apply1(Equal, [a, b], {});
export const less = (a: TensorLike, b: TensorLike): Tensor => apply1(Less, [a, b], {});
export const greater = (a: TensorLike, b: TensorLike): Tensor => apply1(Greater, [a, b], {});
export const max = (...xs: TensorLike[]): Tensor => apply1(Max, xs, {});
export const min = (...xs: TensorLike[]): Tensor => apply1(Min, xs, {});
/**
 * xs[0] + xs[1] + ... as a balanced tree of Adds (numpy broadcasting). Not the ONNX Sum op: the WebGPU
 * execution provider has no Sum kernel and would run it on the CPU, with a copy each way.
 */
export const sum = (...xs: Tensor[]): Tensor => {
  if (xs.length === 0) throw new ShapeError('sum needs at least one input');
  if (xs.length === 1) return xs[0];
  const half = Math.ceil(xs.length / 2);
  return add(sum(...xs.slice(0, half)), sum(...xs.slice(half)));
};

export const neg = (x: Tensor): Tensor => apply1(Neg, [x], {});
export const abs = (x: Tensor): Tensor => apply1(Abs, [x], {});
export const sign = (x: Tensor): Tensor => apply1(Sign, [x], {});
export const exp = (x: Tensor): Tensor => apply1(Exp, [x], {});
export const log = (x: Tensor): Tensor => apply1(Log, [x], {});
export const sqrt = (x: Tensor): Tensor => apply1(Sqrt, [x], {});
export const reciprocal = (x: Tensor): Tensor => apply1(Reciprocal, [x], {});
export const erf = (x: Tensor): Tensor => apply1(Erf, [x], {});
export const gelu = (x: Tensor): Tensor => apply1(Gelu, [x], {});
export const tanh = (x: Tensor): Tensor => apply1(Tanh, [x], {});
export const sigmoid = (x: Tensor): Tensor => apply1(Sigmoid, [x], {});
export const relu = (x: Tensor): Tensor => apply1(Relu, [x], {});
export const not = (x: Tensor): Tensor => apply1(Not, [x], {});
export const isNaN = (x: Tensor): Tensor => apply1(IsNaN, [x], {});
export const isInf = (x: Tensor): Tensor => apply1(IsInf, [x], {});

/** cond ? x : y, broadcast over all three. cond: bool. */
export const where = (cond: Tensor, x: TensorLike, y: TensorLike): Tensor => {
  const peer = x instanceof Tensor ? x : y instanceof Tensor ? y : undefined;
  const lifted = [x, y].map((v) => (typeof v === 'number' && peer ? peer.graph.scalar(v, peer.dtype) : v));
  return apply1(Where, [cond, ...lifted], {});
};

/** Clamps x to [lo, hi]; either bound may be omitted. */
export const clip = (x: Tensor, lo?: number, hi?: number): Tensor =>
  apply1(Clip, [x, lo === undefined ? undefined : lo, hi === undefined ? undefined : hi], {});
