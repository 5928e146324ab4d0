import { grad, NoGradientRuleError } from '../../src/graph-builder/autodiff';
import { apply1 } from '../../src/graph-builder/core/apply';
import { Graph } from '../../src/graph-builder/core/graph';
import type { Node } from '../../src/graph-builder/core/node';
import type { Tensor } from '../../src/graph-builder/core/tensor';
import { defineOp } from '../../src/graph-builder/core/op-spec';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';

const backwardNodes = (g: Graph) => g.nodes.filter((n) => n.name.startsWith('grad/'));

test('only the path from wrt to the loss is differentiated', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [4]);
  const w1 = g.param('w1', [4]);
  const w2 = g.param('w2', [4]);
  const loss = op.reduceSum(op.mul(x, w1));
  g.output('side', op.exp(op.mul(x, w2))); // never reaches the loss
  const before = g.nodes.length;
  const [d1] = grad(loss, [w1]);
  g.output('d1', d1);
  const emitted = g.nodes.slice(before).map((n) => n.spec.opType);
  expect(emitted).not.toContain('Exp');
  // dL/dw1 = x times the seed broadcast through ReduceSum (folded to a small constant): one Mul.
  expect(backwardNodes(g).map((n) => n.spec.opType)).toEqual(['Mul']);
  expect(backwardNodes(g)[0].inputs).toContain(x);
});

test('a wrt the loss does not depend on gets zeros, with no backward nodes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const unused = g.param('unused', [2, 2]);
  const [dx, du] = grad(op.reduceSum(op.mul(x, x)), [x, unused]);
  expect(du.shape).toEqual([2, 2]);
  expect(du.producer?.inputs.some((t) => t === unused)).toBeFalsy();
  expect(dx.shape).toEqual([3]);
});

test('gradients of a tensor used several times are summed once', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const y = op.add(op.add(op.mul(x, 2), op.exp(x)), op.neg(x));
  const before = g.nodes.length;
  const [dx] = grad(op.reduceSum(y), [x]);
  // Three contributions, summed by two Adds (no Sum op: WebGPU has no kernel for it).
  const adds = g.nodes.slice(before).filter((n) => n.spec.opType === 'Add');
  expect(adds).toHaveLength(2);
  expect(dx.producer?.spec.opType).toBe('Add');
  expect(g.nodes.some((n) => n.spec.opType === 'Sum')).toBe(false);
});

test("attention's k^T: dk comes out of a matmul, with no transpose of the [.., d, N] gradient", () => {
  const g = new Graph();
  const q = g.input('q', 'float32', [2, 3, 5, 4]); // [B, H, N, d]
  const k = g.input('k', 'float32', [2, 3, 6, 4]);
  const scores = op.matmul(q, op.transpose(k, [0, 1, 3, 2])); // [B, H, N, M]
  const before = g.nodes.length;
  const [dq, dk] = grad(op.reduceSum(op.mul(scores, scores)), [q, k]);
  // dk = dS^T q and dq = dS k: the swaps cancel instead of running as Transpose nodes.
  expect(dk.producer?.spec.opType).toBe('MatMul');
  expect(dk.shape).toEqual([2, 3, 6, 4]);
  expect(dq.shape).toEqual([2, 3, 5, 4]);
  const matmuls = g.nodes.slice(before).filter((n) => n.spec.opType === 'MatMul');
  expect(matmuls.some((n) => n.inputs[1] === k)).toBe(true);
  // The nodes dq and dk are computed by (a cancelled swap may leave a dead node, never exported).
  const live = new Set<Node>();
  const visit = (t: Tensor | undefined) => {
    if (!t?.producer || live.has(t.producer)) return;
    live.add(t.producer);
    t.producer.inputs.forEach(visit);
  };
  [dq, dk].forEach(visit);
  const transposes = g.nodes.slice(before).filter((n) => live.has(n) && n.spec.opType === 'Transpose');
  expect(transposes.map((n) => n.inputs[0]?.shape)).toEqual([[2, 3, 5, 6]]); // only dS^T, for ORT to fold
});

test('an op without a gradient rule is a named error pointing at the model code', () => {
  const Mystery = defineOp<Record<string, never>>({
    opType: 'Mystery',
    onnxOpType: 'Relu',
    attrKinds: {},
    infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  });
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const y = apply1(Mystery, [x], {});
  expect(() => grad(op.reduceSum(y), [x])).toThrow(NoGradientRuleError);
  expect(() => grad(op.reduceSum(y), [x])).toThrow(/no gradient rule for Mystery .*grad\.test\.ts:\d+/);
});

test('backward nodes name the model code of the forward op they differentiate', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3]);
  const w = g.param('w', [3, 4]);
  const [dw] = grad(op.reduceSum(op.tanh(op.matmul(x, w))), [w]);
  expect(dw.producer!.callSite).toMatch(/grad\.test\.ts:\d+.*\(gradient of MatMul\)/);
  g.output('dw', dw);
  expect(toModelProto(g, { paramsAs: 'inputs' }).graph!.node!.length).toBeGreaterThan(3);
});

test('differentiating an integer tensor is refused', () => {
  const g = new Graph();
  const i = g.input('i', 'int64', [3]);
  expect(() => grad(op.reduceSum(i), [i])).toThrow(/cannot differentiate int64/);
});
