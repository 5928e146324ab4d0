/**
 * Numerical gradient checks for every entry of the gradient table: the backward graph that `grad`
 * emits, run in onnxruntime-node, against central differences of the forward graph. float64 where
 * ORT's CPU kernels allow it; float32 with the tolerances justified in tests/helpers/grad-check.ts
 * for Erf, Gelu and Conv (no float64 kernels). The last test fails when a rule has no check here.
 */
import { GRAD_RULES, stopGradient } from '../../src/graph-builder/autodiff';
import { Tensor } from '../../src/graph-builder/core/tensor';
import * as op from '../../src/graph-builder/ops';
import { nd, randomNd, seededRandom } from '../reference';
import { gradCheck, GradCheckCase } from '../helpers/grad-check';
import { f32, f64, i64 } from '../helpers/ort-run';

interface RuleCase extends GradCheckCase {
  readonly ops: readonly string[];
  readonly name: string;
}

const rng = seededRandom(7);
const r = (shape: number[], lo = -1, hi = 1) => f64(randomNd(shape, rng, lo, hi));
const r32 = (shape: number[], lo = -1, hi = 1) => f32(randomNd(shape, rng, lo, hi));
/** Values kept away from a kink so central differences do not straddle it. */
const awayFromZero = (shape: number[]) =>
  f64(
    nd(
      shape,
      Array.from(randomNd(shape, rng, 0.2, 1).data, (v, i) => (i % 2 ? -v : v)),
    ),
  );

const cases: RuleCase[] = [
  {
    ops: ['Add'],
    name: 'add with broadcasting',
    inputs: { a: r([2, 3]), b: r([3]) },
    build: (t) => op.add(t.a, t.b),
  },
  {
    ops: ['Sub'],
    name: 'sub with broadcasting',
    inputs: { a: r([2, 1]), b: r([2, 3]) },
    build: (t) => op.sub(t.a, t.b),
  },
  {
    ops: ['Mul'],
    name: 'mul, value used twice',
    inputs: { a: r([4]), b: r([1]) },
    build: (t) => op.mul(op.mul(t.a, t.a), t.b),
  },
  { ops: ['Div'], name: 'div', inputs: { a: r([3]), b: r([2, 3], 0.5, 2) }, build: (t) => op.div(t.a, t.b) },
  {
    ops: ['Pow'],
    name: 'pow',
    inputs: { a: r([4], 0.5, 2), b: r([4], -1, 2) },
    build: (t) => op.pow(t.a, t.b),
  },
  {
    ops: ['Sum'],
    name: 'variadic sum',
    inputs: { a: r([2, 3]), b: r([3]), c: r([2, 1]) },
    build: (t) => op.sum(t.a, t.b, t.c),
  },
  { ops: ['Max'], name: 'max', inputs: { a: r([6]), b: r([6]) }, build: (t) => op.max(t.a, t.b) },
  {
    ops: ['Min'],
    name: 'min broadcast',
    inputs: { a: r([2, 3]), b: r([3]) },
    build: (t) => op.min(t.a, t.b),
  },
  { ops: ['Neg'], name: 'neg', inputs: { a: r([3]) }, build: (t) => op.neg(t.a) },
  { ops: ['Exp'], name: 'exp', inputs: { a: r([3]) }, build: (t) => op.exp(t.a) },
  { ops: ['Log'], name: 'log', inputs: { a: r([3], 0.5, 2) }, build: (t) => op.log(t.a) },
  { ops: ['Sqrt'], name: 'sqrt', inputs: { a: r([3], 0.5, 2) }, build: (t) => op.sqrt(t.a) },
  {
    ops: ['Reciprocal'],
    name: 'reciprocal',
    inputs: { a: r([3], 0.5, 2) },
    build: (t) => op.reciprocal(t.a),
  },
  { ops: ['Erf'], name: 'erf (float32)', inputs: { a: r32([6], -2, 2) }, build: (t) => op.erf(t.a) },
  { ops: ['Gelu'], name: 'gelu (float32)', inputs: { a: r32([9], -3, 3) }, build: (t) => op.gelu(t.a) },
  { ops: ['Tanh'], name: 'tanh', inputs: { a: r([5], -2, 2) }, build: (t) => op.tanh(t.a) },
  { ops: ['Sigmoid'], name: 'sigmoid', inputs: { a: r([5], -2, 2) }, build: (t) => op.sigmoid(t.a) },
  { ops: ['Relu', 'Greater'], name: 'relu', inputs: { a: awayFromZero([6]) }, build: (t) => op.relu(t.a) },
  { ops: ['Abs', 'Sign'], name: 'abs', inputs: { a: awayFromZero([6]) }, build: (t) => op.abs(t.a) },
  {
    ops: ['Sign'],
    name: 'sign passes no gradient',
    inputs: { a: awayFromZero([6]) },
    build: (t) => op.mul(t.a, op.sign(t.a)),
  },
  { ops: ['Identity'], name: 'identity', inputs: { a: r([3]) }, build: (t) => op.mul(op.identity(t.a), t.a) },
  {
    ops: ['Cast'],
    name: 'cast float64 -> float32 -> float64',
    inputs: { a: r([3]) },
    build: (t) => op.cast(op.mul(op.cast(t.a, 'float32'), 2), 'float64'),
    // float32 rounding of the input (~1e-7) over a 2e-2 step: ~1e-5 in the difference quotient.
    eps: 1e-2,
    rtol: 1e-4,
    atol: 1e-4,
  },
  {
    ops: ['Clip', 'Less', 'Greater'],
    name: 'clip',
    inputs: { a: f64(nd([6], [-1.3, -0.7, -0.2, 0.3, 0.8, 1.4])) },
    build: (t) => op.clip(t.a, -0.5, 1),
  },
  {
    ops: ['Where', 'Equal'],
    name: 'where',
    inputs: { c: i64(nd([3], [1, 0, 1])), a: r([2, 3]), b: r([3]) },
    wrt: ['a', 'b'],
    build: (t) => op.where(op.equal(t.c, 1), t.a, t.b),
  },
  {
    ops: ['Not', 'IsNaN', 'IsInf', 'Less'],
    name: 'mask from bool ops passes no gradient',
    inputs: { a: r([4]) },
    build: (t) => op.where(op.not(op.isNaN(op.div(t.a, t.a))), op.where(op.isInf(t.a), 0, t.a), 0),
  },
  {
    ops: ['MatMul'],
    name: 'matmul batched with broadcasting',
    inputs: { a: r([2, 1, 3, 4]), b: r([3, 4, 2]) },
    build: (t) => op.matmul(t.a, t.b),
  },
  {
    ops: ['MatMul'],
    name: 'matmul linear layer [B,N,K] @ [K,M]',
    inputs: { a: r([2, 3, 4]), b: r([4, 5]) },
    build: (t) => op.matmul(t.a, t.b),
  },
  {
    ops: ['MatMul'],
    name: 'matmul with 1-D operands',
    inputs: { a: r([4]), b: r([2, 4, 3]), c: r([3]) },
    build: (t) => op.matmul(op.matmul(t.a, t.b), t.c),
  },
  {
    ops: ['Gemm'],
    name: 'gemm plain',
    inputs: { a: r([3, 4]), b: r([4, 2]), c: r([2]) },
    build: (t) => op.gemm(t.a, t.b, t.c),
  },
  {
    ops: ['Gemm'],
    name: 'gemm transposed, scaled',
    inputs: { a: r([4, 3]), b: r([2, 4]), c: r([3, 1]) },
    build: (t) => op.gemm(t.a, t.b, t.c, { transA: 1, transB: 1, alpha: 0.7, beta: -1.5 }),
  },
  {
    ops: ['Softmax'],
    name: 'softmax axis 1',
    inputs: { a: r([2, 4, 3], -2, 2) },
    build: (t) => op.softmax(t.a, { axis: 1 }),
  },
  {
    ops: ['LogSoftmax'],
    name: 'log-softmax',
    inputs: { a: r([3, 5], -2, 2) },
    build: (t) => op.logSoftmax(t.a),
  },
  {
    ops: ['LayerNormalization'],
    name: 'layer norm (x, scale, bias)',
    inputs: { x: r([2, 3, 6]), s: r([6]), b: r([6]) },
    build: (t) => op.layerNorm(t.x, t.s, t.b, { epsilon: 1e-6 }),
  },
  {
    ops: ['LayerNormalization'],
    name: 'layer norm over two dims, no bias',
    inputs: { x: r([2, 3, 4]), s: r([3, 4]) },
    build: (t) => op.layerNorm(t.x, t.s, undefined, { axis: 1 }),
  },
  {
    ops: ['Transpose'],
    name: 'transpose',
    inputs: { a: r([2, 3, 4]) },
    build: (t) => op.transpose(t.a, [1, 2, 0]),
  },
  { ops: ['Reshape'], name: 'reshape', inputs: { a: r([2, 6]) }, build: (t) => op.reshape(t.a, [3, 4]) },
  {
    ops: ['Unsqueeze', 'Squeeze'],
    name: 'unsqueeze / squeeze',
    inputs: { a: r([3, 1]) },
    build: (t) => op.unsqueeze(op.squeeze(t.a, [1]), [0]),
  },
  { ops: ['Expand'], name: 'expand', inputs: { a: r([3, 1]) }, build: (t) => op.expand(t.a, [2, 3, 4]) },
  {
    ops: ['Concat'],
    name: 'concat',
    inputs: { a: r([2, 1]), b: r([2, 3]) },
    build: (t) => op.concat([t.a, t.b, t.a], 1),
  },
  {
    ops: ['Split'],
    name: 'split with an unused part',
    inputs: { a: r([2, 5]) },
    build: (t) => {
      const [p, , q] = op.split(t.a, [1, 2, 2], 1);
      return op.mul(p, q);
    },
  },
  {
    ops: ['Slice'],
    name: 'slice',
    inputs: { a: r([4, 5]) },
    build: (t) => op.slice(t.a, [1, -4], [3, 100], [0, 1]),
  },
  {
    ops: ['Pad'],
    name: 'pad and crop',
    inputs: { a: r([3, 4]) },
    build: (t) => op.pad(t.a, [1, -1], [2, 0], { value: 0.5 }),
  },
  {
    ops: ['Gather'],
    name: 'gather with repeated indices',
    inputs: { a: r([2, 4, 3]), i: i64(nd([2, 2], [3, 0, 3, -1])) },
    wrt: ['a'],
    build: (t) => op.gather(t.a, t.i, 1),
  },
  {
    ops: ['GatherElements'],
    name: 'gather elements',
    inputs: { a: r([3, 4]), i: i64(nd([3, 2], [0, 0, 3, 1, 2, 2])) },
    wrt: ['a'],
    build: (t) => op.gatherElements(t.a, t.i, 1),
  },
  {
    ops: ['ScatterElements'],
    name: 'scatter (replace)',
    inputs: { d: r([4, 2]), i: i64(nd([2, 2], [1, 3, 0, 1])), u: r([2, 2]) },
    wrt: ['d', 'u'],
    build: (t) => op.scatterElements(t.d, t.i, t.u),
  },
  {
    ops: ['ScatterElements'],
    name: 'scatter add',
    inputs: { d: r([4, 2]), i: i64(nd([2, 2], [1, 3, 1, 3])), u: r([2, 2]) },
    wrt: ['d', 'u'],
    build: (t) => op.scatterElements(t.d, t.i, t.u, { reduction: 'add' }),
  },
  {
    ops: ['ReduceSum'],
    name: 'reduce sum',
    inputs: { a: r([2, 3, 4]) },
    build: (t) => op.reduceSum(t.a, [0, 2]),
  },
  {
    ops: ['ReduceMean'],
    name: 'reduce mean keepdims',
    inputs: { a: r([2, 3, 4]) },
    build: (t) => op.reduceMean(t.a, [1], { keepdims: true }),
  },
  { ops: ['ReduceMax'], name: 'reduce max', inputs: { a: r([3, 5]) }, build: (t) => op.reduceMax(t.a, [1]) },
  {
    ops: ['ReduceSumSquare'],
    name: 'reduce sum of squares',
    inputs: { a: r([3, 4]) },
    build: (t) => op.reduceSumSquare(t.a),
  },
  {
    ops: ['Conv'],
    name: 'patchify conv (float32)',
    inputs: { x: r32([2, 2, 4, 6]), w: r32([3, 2, 2, 2]), b: r32([3]) },
    build: (t) => op.conv(t.x, t.w, t.b, { strides: [2, 2] }),
  },
  {
    ops: ['OneHot'],
    name: 'one-hot targets pass no gradient',
    inputs: { a: r([2, 3]), i: i64(nd([2], [2, 0])) },
    wrt: ['a'],
    build: (t) => op.mul(t.a, op.cast(op.oneHot(t.i, 3), 'float64')),
  },
];

const composites: { name: string; c: GradCheckCase }[] = [
  {
    name: 'exact GELU from primitives (float32)',
    c: {
      inputs: { x: r32([8], -3, 3) },
      build: (t) => op.mul(op.mul(t.x, 0.5), op.add(op.erf(op.mul(t.x, Math.SQRT1_2)), 1)),
    },
  },
  {
    name: 'softmax attention',
    c: {
      inputs: { q: r([2, 3, 4]), k: r([2, 5, 4]), v: r([2, 5, 4]) },
      build: (t) => op.matmul(op.softmax(op.mul(op.matmul(t.q, op.transpose(t.k, [0, 2, 1])), 0.5)), t.v),
    },
  },
  {
    name: 'cross-attention scores, k^T taken straight from [B, N, H, d]',
    c: {
      inputs: { q: r([2, 2, 3, 4]), k: r([2, 5, 2, 4]) },
      build: (t) => op.matmul(t.q, op.transpose(t.k, [0, 2, 3, 1])),
    },
  },
  {
    name: 'cross-entropy',
    c: {
      inputs: { logits: r([4, 6], -2, 2), y: i64(nd([4], [0, 5, 2, 2])) },
      wrt: ['logits'],
      build: (t) =>
        op.neg(op.reduceMean(op.gatherElements(op.logSoftmax(t.logits), op.unsqueeze(t.y, [1]), 1))),
    },
  },
  {
    name: 'MSE',
    c: {
      inputs: { p: r([3, 4]), q: r([3, 4]) },
      build: (t) => op.reduceMean(op.mul(op.sub(t.p, t.q), op.sub(t.p, t.q))),
    },
  },
  {
    name: 'layer norm then linear, params used twice',
    c: {
      inputs: { x: r([2, 3, 4]), s: r([4]), b: r([4]), w: r([4, 4]) },
      build: (t: Record<string, Tensor>) =>
        op.add(op.matmul(op.layerNorm(t.x, t.s, t.b), t.w), op.matmul(t.x, t.w)),
    },
  },
];

describe('gradient rules match central differences', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const result = await gradCheck(c);
    if (result.worstExcess > 0) throw new Error(`gradient mismatch at ${result.worstAt}`);
  });
});

describe('composites match central differences', () => {
  test.each(composites.map((c) => [c.name, c.c] as const))('%s', async (_name, c) => {
    const result = await gradCheck(c);
    if (result.worstExcess > 0) throw new Error(`gradient mismatch at ${result.worstAt}`);
  });
});

test('stop-gradient blocks one path: d/da [a * sg(exp(a))] = exp(a)', async () => {
  // Central differences see through a stop-gradient, so the expected gradient is written out.
  const a = randomNd([5], seededRandom(3), -1, 1);
  const result = await gradCheck({
    inputs: { a: f64(a) },
    build: (t) => op.mul(t.a, stopGradient(op.exp(t.a))),
  });
  const weights = randomNd([5], seededRandom(99), -1, 1); // the loss weights gradCheck uses
  const expected = Array.from(a.data, (v, i) => weights.data[i] * Math.exp(v));
  Array.from(result.analytic.a).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
});

test('every entry of the gradient table has a check', () => {
  const covered = new Set([...cases.flatMap((c) => c.ops), 'StopGradient']);
  expect([...GRAD_RULES.keys()].filter((k) => !covered.has(k))).toEqual([]);
});
