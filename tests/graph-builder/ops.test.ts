/**
 * Every op constructor, traced, run in onnxruntime-node, and compared with the independent reference
 * in tests/reference. Each case also checks that the builder's inferred shape and dtype match what
 * ORT produced. A final test fails when an op spec is added without a case here.
 */
import { Tensor } from '../../src/graph-builder/core/tensor';
import * as op from '../../src/graph-builder/ops';
import { OP_SPECS } from '../../src/graph-builder/ops';
import * as ref from '../reference';
import { NDArray, nd, randomNd, seededRandom } from '../reference';
import { bool, expectClose, f32, f64, i64, toNd, traceAndRun, TypedInput } from '../helpers/ort-run';

interface OpCase {
  /** ONNX op types this case exercises. */
  readonly ops: readonly string[];
  readonly name: string;
  readonly inputs: Record<string, TypedInput>;
  readonly build: (t: Record<string, Tensor>) => Tensor | Tensor[];
  readonly reference: (a: Record<string, NDArray>) => NDArray | NDArray[];
  readonly dynamic?: Record<string, (number | string)[]>;
  readonly tol?: { rtol?: number; atol?: number };
}

const rng = seededRandom(1234);
const r = (shape: number[], lo = -1, hi = 1) => randomNd(shape, rng, lo, hi);
const positive = (shape: number[]) => r(shape, 0.1, 2);
const ints = (shape: number[], hi: number) =>
  nd(
    shape,
    Array.from({ length: ref.size(shape) }, () => Math.floor(rng() * hi)),
  );
const sign = (x: NDArray) => ref.unaryMap(x, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0));

/** Constant padding (negative pads crop), written out independently of the builder. */
function padReference(x: NDArray, begins: number[], ends: number[], value: number): NDArray {
  const shape = x.shape.map((d, i) => d + begins[i] + ends[i]);
  return ref.fromFunction(shape, (index) => {
    const src = index.map((v, i) => v - begins[i]);
    return src.every((v, i) => v >= 0 && v < x.shape[i]) ? ref.get(x, src) : value;
  });
}

const cases: OpCase[] = [
  {
    ops: ['Add'],
    name: 'add broadcast',
    inputs: { a: f32(r([2, 3, 4])), b: f32(r([3, 1])) },
    build: (t) => op.add(t.a, t.b),
    reference: (a) => ref.add(a.a, a.b),
  },
  {
    ops: ['Add'],
    name: 'add scalar literal',
    inputs: { a: f32(r([2, 3])) },
    build: (t) => op.add(t.a, 2.5),
    reference: (a) => ref.add(a.a, nd([], [2.5])),
  },
  {
    ops: ['Sub'],
    name: 'sub',
    inputs: { a: f64(r([4, 1])), b: f64(r([3])) },
    build: (t) => op.sub(t.a, t.b),
    reference: (a) => ref.sub(a.a, a.b),
  },
  {
    ops: ['Mul'],
    name: 'mul',
    inputs: { a: f32(r([2, 3])), b: f32(r([2, 3])) },
    build: (t) => op.mul(t.a, t.b),
    reference: (a) => ref.mul(a.a, a.b),
  },
  {
    ops: ['Div'],
    name: 'div',
    inputs: { a: f32(r([5])), b: f32(positive([5])) },
    build: (t) => op.div(t.a, t.b),
    reference: (a) => ref.div(a.a, a.b),
  },
  {
    ops: ['Pow'],
    name: 'pow',
    inputs: { a: f32(positive([6])), b: f32(r([6])) },
    build: (t) => op.pow(t.a, t.b),
    reference: (a) => ref.pow(a.a, a.b),
  },
  {
    ops: ['Neg'],
    name: 'neg',
    inputs: { a: f32(r([3, 2])) },
    build: (t) => op.neg(t.a),
    reference: (a) => ref.neg(a.a),
  },
  {
    ops: ['Exp'],
    name: 'exp',
    inputs: { a: f32(r([7])) },
    build: (t) => op.exp(t.a),
    reference: (a) => ref.exp(a.a),
  },
  {
    ops: ['Log'],
    name: 'log',
    inputs: { a: f32(positive([7])) },
    build: (t) => op.log(t.a),
    reference: (a) => ref.log(a.a),
  },
  {
    ops: ['Sqrt'],
    name: 'sqrt',
    inputs: { a: f32(positive([7])) },
    build: (t) => op.sqrt(t.a),
    reference: (a) => ref.sqrt(a.a),
  },
  {
    ops: ['Erf'],
    name: 'erf',
    inputs: { a: f32(r([9], -3, 3)) },
    build: (t) => op.erf(t.a),
    reference: (a) => ref.erf(a.a),
  },
  {
    ops: ['Gelu'],
    name: 'gelu (exact)',
    inputs: { a: f32(r([11], -4, 4)) },
    build: (t) => op.gelu(t.a),
    reference: (a) => ref.gelu(a.a),
  },
  {
    ops: ['Tanh'],
    name: 'tanh',
    inputs: { a: f32(r([9], -3, 3)) },
    build: (t) => op.tanh(t.a),
    reference: (a) => ref.tanh(a.a),
  },
  {
    ops: ['Abs'],
    name: 'abs',
    inputs: { a: f32(r([5])) },
    build: (t) => op.abs(t.a),
    reference: (a) => ref.unaryMap(a.a, Math.abs),
  },
  {
    ops: ['Sign'],
    name: 'sign',
    inputs: { a: f32(r([5])) },
    build: (t) => op.sign(t.a),
    reference: (a) => sign(a.a),
  },
  {
    ops: ['Reciprocal'],
    name: 'reciprocal',
    inputs: { a: f32(positive([5])) },
    build: (t) => op.reciprocal(t.a),
    reference: (a) => ref.unaryMap(a.a, (v) => 1 / v),
  },
  {
    ops: ['Sigmoid'],
    name: 'sigmoid',
    inputs: { a: f32(r([5], -4, 4)) },
    build: (t) => op.sigmoid(t.a),
    reference: (a) => ref.unaryMap(a.a, (v) => 1 / (1 + Math.exp(-v))),
  },
  {
    ops: ['Relu'],
    name: 'relu',
    inputs: { a: f32(r([5])) },
    build: (t) => op.relu(t.a),
    reference: (a) => ref.unaryMap(a.a, (v) => Math.max(0, v)),
  },
  {
    ops: ['Max'],
    name: 'max',
    inputs: { a: f32(r([2, 3])), b: f32(r([3])) },
    build: (t) => op.max(t.a, t.b),
    reference: (a) => ref.max(a.a, a.b),
  },
  {
    ops: ['Min'],
    name: 'min',
    inputs: { a: f32(r([2, 3])), b: f32(r([3])) },
    build: (t) => op.min(t.a, t.b),
    reference: (a) => ref.broadcastMap([a.a, a.b], Math.min),
  },
  {
    ops: ['Sum'],
    name: 'sum',
    inputs: { a: f32(r([2, 3])), b: f32(r([3])), c: f32(r([2, 1])) },
    build: (t) => op.sum(t.a, t.b, t.c),
    reference: (a) => ref.add(ref.add(a.a, a.b), a.c),
  },
  {
    ops: ['Clip'],
    name: 'clip',
    inputs: { a: f32(r([8], -2, 2)) },
    build: (t) => op.clip(t.a, -0.5, 1),
    reference: (a) => ref.clip(a.a, -0.5, 1),
  },
  {
    ops: ['Clip'],
    name: 'clip upper only',
    inputs: { a: f32(r([8], -2, 2)) },
    build: (t) => op.clip(t.a, undefined, 0.3),
    reference: (a) => ref.clip(a.a, undefined, 0.3),
  },
  {
    ops: ['Equal', 'Where'],
    name: 'equal + where',
    inputs: { a: i64(ints([6], 3)), b: i64(ints([6], 3)), x: f32(r([6])), y: f32(r([1])) },
    build: (t) => [op.equal(t.a, t.b), op.where(op.equal(t.a, t.b), t.x, t.y)],
    reference: (a) => [ref.equal(a.a, a.b), ref.where(ref.equal(a.a, a.b), a.x, a.y)],
  },
  {
    ops: ['Less', 'Greater', 'Not'],
    name: 'comparisons',
    inputs: { a: f32(r([6])), b: f32(r([6])) },
    build: (t) => [op.less(t.a, t.b), op.greater(t.a, t.b), op.not(op.less(t.a, t.b))],
    reference: (a) => [
      ref.broadcastMap([a.a, a.b], (x, y) => Number(x < y)),
      ref.broadcastMap([a.a, a.b], (x, y) => Number(x > y)),
      ref.broadcastMap([a.a, a.b], (x, y) => Number(!(x < y))),
    ],
  },
  {
    ops: ['IsNaN', 'IsInf'],
    name: 'non-finite tests',
    inputs: { a: f32(nd([4], [1, NaN, Infinity, -Infinity])) },
    build: (t) => [op.isNaN(t.a), op.isInf(t.a)],
    reference: () => [nd([4], [0, 1, 0, 0]), nd([4], [0, 0, 1, 1])],
  },
  {
    ops: ['Where'],
    name: 'where scalar branch',
    inputs: { c: bool(nd([3], [1, 0, 1])), x: f32(r([2, 3])) },
    build: (t) => op.where(t.c, t.x, 0),
    reference: (a) => ref.where(a.c, a.x, nd([], [0])),
  },
  {
    ops: ['MatMul'],
    name: 'matmul batched broadcast',
    inputs: { a: f32(r([2, 1, 3, 4])), b: f32(r([5, 4, 2])) },
    build: (t) => op.matmul(t.a, t.b),
    reference: (a) => ref.matmul(a.a, a.b),
    tol: { rtol: 1e-5, atol: 1e-5 },
  },
  {
    ops: ['MatMul'],
    name: 'matmul 1-D',
    inputs: { a: f64(r([4])), b: f64(r([3, 4, 2])) },
    build: (t) => op.matmul(t.a, t.b),
    reference: (a) => ref.matmul(a.a, a.b),
  },
  {
    ops: ['Gemm'],
    name: 'gemm transB alpha beta',
    inputs: { a: f32(r([3, 4])), b: f32(r([5, 4])), c: f32(r([5])) },
    build: (t) => op.gemm(t.a, t.b, t.c, { transB: 1, alpha: 0.5, beta: 2 }),
    reference: (a) => ref.gemm(a.a, a.b, a.c, { transB: 1, alpha: 0.5, beta: 2 }),
    tol: { rtol: 1e-5, atol: 1e-5 },
  },
  {
    ops: ['Gemm'],
    name: 'gemm transA no C',
    inputs: { a: f32(r([4, 3])), b: f32(r([4, 2])) },
    build: (t) => op.gemm(t.a, t.b, undefined, { transA: 1 }),
    reference: (a) => ref.gemm(a.a, a.b, undefined, { transA: 1 }),
    tol: { rtol: 1e-5, atol: 1e-5 },
  },
  {
    ops: ['Softmax'],
    name: 'softmax axis 1',
    inputs: { a: f32(r([2, 5, 3], -4, 4)) },
    build: (t) => op.softmax(t.a, { axis: 1 }),
    reference: (a) => ref.softmax(a.a, 1),
  },
  {
    ops: ['LogSoftmax'],
    name: 'log-softmax',
    inputs: { a: f64(r([3, 6], -4, 4)) },
    build: (t) => op.logSoftmax(t.a),
    reference: (a) => ref.logSoftmax(a.a, -1),
  },
  {
    ops: ['LayerNormalization'],
    name: 'layer norm with stats',
    inputs: { x: f32(r([2, 3, 8])), s: f32(r([8])), b: f32(r([8])) },
    build: (t) => op.layerNormWithStats(t.x, t.s, t.b, { epsilon: 1e-6 }),
    reference: (a) => {
      const { y, mean, invStdDev } = ref.layerNormalization(a.x, a.s, a.b, { epsilon: 1e-6 });
      return [y, mean, invStdDev];
    },
    tol: { rtol: 1e-4, atol: 1e-5 },
  },
  {
    ops: ['LayerNormalization'],
    name: 'layer norm over two axes, float64',
    inputs: { x: f64(r([2, 3, 4])), s: f64(r([3, 4])) },
    build: (t) => op.layerNorm(t.x, t.s, undefined, { axis: 1 }),
    reference: (a) => ref.layerNormalization(a.x, a.s, undefined, { axis: 1, epsilon: 1e-5 }).y,
  },
  {
    ops: ['Transpose'],
    name: 'transpose',
    inputs: { a: f32(r([2, 3, 4])) },
    build: (t) => op.transpose(t.a, [2, 0, 1]),
    reference: (a) => ref.transpose(a.a, [2, 0, 1]),
  },
  {
    ops: ['Reshape'],
    name: 'reshape with dynamic batch',
    inputs: { a: f32(r([2, 3, 4])) },
    dynamic: { a: ['batch', 3, 4] },
    build: (t) => op.reshape(t.a, ['batch', 12]),
    reference: (a) => ref.reshape(a.a, [2, 12]),
  },
  {
    ops: ['Reshape'],
    name: 'reshape infers the batch',
    inputs: { a: f32(r([2, 6])) },
    dynamic: { a: ['batch', 6] },
    build: (t) => op.reshape(t.a, [2, 'batch', 3]),
    reference: (a) => ref.reshape(a.a, [2, 2, 3]),
  },
  {
    ops: ['Concat'],
    name: 'concat',
    inputs: { a: f32(r([2, 1, 3])), b: f32(r([2, 4, 3])) },
    build: (t) => op.concat([t.a, t.b], 1),
    reference: (a) => ref.concat([a.a, a.b], 1),
  },
  {
    ops: ['Split'],
    name: 'split',
    inputs: { a: f32(r([2, 7])) },
    build: (t) => op.split(t.a, [3, 4], -1),
    reference: (a) => ref.split(a.a, [3, 4], -1),
  },
  {
    ops: ['Slice'],
    name: 'slice negative step',
    inputs: { a: f32(r([4, 6])) },
    build: (t) => op.slice(t.a, [-1, 1], [-100, 5], [0, 1], [-2, 2]),
    reference: (a) => ref.slice(a.a, [-1, 1], [-100, 5], [0, 1], [-2, 2]),
  },
  {
    ops: ['Gather'],
    name: 'gather axis 1',
    inputs: { a: f32(r([2, 5, 3])), i: i64(nd([2, 2], [4, 0, -1, 2])) },
    build: (t) => op.gather(t.a, t.i, 1),
    reference: (a) => ref.gather(a.a, a.i, 1),
  },
  {
    ops: ['GatherElements'],
    name: 'gather elements',
    inputs: { a: f32(r([3, 4])), i: i64(ints([3, 2], 4)) },
    build: (t) => op.gatherElements(t.a, t.i, 1),
    reference: (a) => ref.gatherElements(a.a, a.i, 1),
  },
  {
    ops: ['ScatterElements'],
    name: 'scatter add with duplicates',
    inputs: { d: f64(r([5, 2])), i: i64(nd([3, 2], [0, 4, 0, 4, 2, 2])), u: f64(r([3, 2])) },
    build: (t) => op.scatterElements(t.d, t.i, t.u, { axis: 0, reduction: 'add' }),
    reference: (a) => ref.scatterElements(a.d, a.i, a.u, 0, 'add'),
  },
  {
    ops: ['ScatterElements'],
    name: 'scatter replace',
    inputs: { d: f32(r([2, 5])), i: i64(nd([2, 2], [1, 3, 0, 4])), u: f32(r([2, 2])) },
    build: (t) => op.scatterElements(t.d, t.i, t.u, { axis: 1 }),
    reference: (a) => ref.scatterElements(a.d, a.i, a.u, 1, 'none'),
  },
  {
    ops: ['Pad'],
    name: 'pad and crop',
    inputs: { a: f32(r([2, 3])) },
    build: (t) => op.pad(t.a, [1, -1], [0, 2], { value: 0.5 }),
    reference: (a) => padReference(a.a, [1, -1], [0, 2], 0.5),
  },
  {
    ops: ['Expand'],
    name: 'expand',
    inputs: { a: f32(r([3, 1])) },
    build: (t) => op.expand(t.a, [2, 3, 4]),
    reference: (a) => ref.expand(a.a, [2, 3, 4]),
  },
  {
    ops: ['Expand'],
    name: 'expand keeps a dynamic dim',
    inputs: { a: f32(r([2, 1, 3])) },
    dynamic: { a: ['batch', 1, 3] },
    build: (t) => op.expand(t.a, ['batch', 4, 3]),
    reference: (a) => ref.expand(a.a, [2, 4, 3]),
  },
  {
    ops: ['ReduceSum'],
    name: 'reduce sum keepdims',
    inputs: { a: f32(r([2, 3, 4])) },
    build: (t) => op.reduceSum(t.a, [0, 2], { keepdims: true }),
    reference: (a) => ref.reduceSum(a.a, [0, 2], 1),
  },
  {
    ops: ['ReduceSum'],
    name: 'reduce sum all',
    inputs: { a: f64(r([2, 3])) },
    build: (t) => op.reduceSum(t.a),
    reference: (a) => ref.reduceSum(a.a, undefined, 0),
  },
  {
    ops: ['ReduceMean'],
    name: 'reduce mean',
    inputs: { a: f32(r([2, 3, 4])) },
    build: (t) => op.reduceMean(t.a, [-1]),
    reference: (a) => ref.reduceMean(a.a, [-1], 0),
  },
  {
    ops: ['ReduceMax'],
    name: 'reduce max',
    inputs: { a: f32(r([2, 3, 4])) },
    build: (t) => op.reduceMax(t.a, [1]),
    reference: (a) => ref.reduceMax(a.a, [1], 0),
  },
  {
    ops: ['ReduceSumSquare'],
    name: 'reduce sum of squares',
    inputs: { a: f32(r([3, 4])) },
    build: (t) => op.reduceSumSquare(t.a, [1]),
    reference: (a) => ref.reduceSum(ref.mul(a.a, a.a), [1], 0),
  },
  {
    ops: ['Conv'],
    name: 'conv stride pad',
    inputs: { x: f32(r([2, 3, 7, 6])), w: f32(r([4, 3, 3, 2])), b: f32(r([4])) },
    build: (t) => op.conv(t.x, t.w, t.b, { strides: [2, 1], pads: [1, 0, 1, 1] }),
    reference: (a) => ref.conv(a.x, a.w, a.b, { strides: [2, 1], pads: [1, 0, 1, 1] }),
    tol: { rtol: 1e-5, atol: 1e-5 },
  },
  {
    ops: ['MaxPool'],
    name: 'max pool 2x2 (odd size: the last row and column are dropped)',
    inputs: { x: f32(r([2, 3, 7, 6])) },
    build: (t) => op.maxPool(t.x, 2),
    reference: (a) => ref.maxPool2d(a.x, 2),
  },
  {
    ops: ['Conv'],
    name: 'conv patchify (stride = kernel)',
    inputs: { x: f32(r([1, 2, 8, 8])), w: f32(r([5, 2, 4, 4])) },
    build: (t) => op.conv(t.x, t.w, undefined, { strides: [4, 4] }),
    reference: (a) => ref.conv(a.x, a.w, undefined, { strides: [4, 4] }),
    tol: { rtol: 1e-5, atol: 1e-5 },
  },
  {
    ops: ['Conv'],
    name: 'grouped dilated conv',
    inputs: { x: f32(r([1, 4, 6, 6])), w: f32(r([2, 2, 2, 2])) },
    build: (t) => op.conv(t.x, t.w, undefined, { group: 2, dilations: [2, 2] }),
    reference: (a) => ref.conv(a.x, a.w, undefined, { group: 2, dilations: [2, 2] }),
    tol: { rtol: 1e-5, atol: 1e-5 },
  },
  {
    ops: ['Cast'],
    name: 'cast float to int64 truncates',
    inputs: { a: f32(r([6], -5, 5)) },
    build: (t) => op.cast(t.a, 'int64'),
    reference: (a) => ref.cast(a.a, 'int64'),
  },
  {
    ops: ['Cast'],
    name: 'cast int64 to float64',
    inputs: { a: i64(ints([4], 9)) },
    build: (t) => op.cast(t.a, 'float64'),
    reference: (a) => a.a,
  },
  {
    ops: ['Identity'],
    name: 'identity',
    inputs: { a: f32(r([3])) },
    build: (t) => op.identity(t.a),
    reference: (a) => a.a,
  },
  {
    ops: ['Unsqueeze', 'Squeeze'],
    name: 'unsqueeze then squeeze',
    inputs: { a: f32(r([3, 4])) },
    build: (t) => {
      const u = op.unsqueeze(t.a, [0, -1]);
      return [u, op.squeeze(u, [0])];
    },
    reference: (a) => [ref.unsqueeze(a.a, [0, -1]), ref.unsqueeze(a.a, [-1])],
  },
  {
    ops: ['Shape'],
    name: 'shape of a dynamic tensor',
    inputs: { a: f32(r([2, 3, 4])) },
    dynamic: { a: ['batch', 3, 4] },
    build: (t) => op.shapeOf(t.a),
    reference: (a) => ref.shape(a.a),
  },
  {
    ops: ['OneHot'],
    name: 'one-hot',
    inputs: { i: i64(nd([2, 2], [0, 3, -1, 2])) },
    build: (t) => op.oneHot(t.i, 4, { axis: 1, off: -1, on: 2 }),
    reference: (a) => ref.oneHot(a.i, 4, [-1, 2], 1),
  },
];

describe('op constructors match the reference through onnxruntime-node', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const run = await traceAndRun(c.inputs, c.build, c.dynamic);
    const expected = [
      c.reference(Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, v.value]))),
    ].flat();
    expect(run.outputs).toHaveLength(expected.length);
    run.outputs.forEach((out, k) => {
      const inferred = run.inferred[k];
      expect(out.dtype).toBe(inferred.dtype);
      inferred.shape.forEach((d, i) => {
        if (typeof d === 'number') expect(out.shape[i]).toBe(d);
      });
      expect(out.shape.length).toBe(inferred.shape.length);
      expectClose(toNd(out), expected[k], c.tol);
    });
  });
});

test('every op in the table has a test case', () => {
  const covered = new Set(cases.flatMap((c) => c.ops));
  const missing = [...OP_SPECS.keys()].filter((k) => !covered.has(k));
  expect(missing).toEqual([]);
});
