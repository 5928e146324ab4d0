/**
 * Forms the builder chooses so that every provider has kernels: wide Concat/Split as trees (WebGPU
 * binds at most 8 tensors per kernel), sums as Adds, and Gelu in its Erf form below opset 20.
 */
import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData } from '../../src/graph-builder/core/tensor-data';
import * as op from '../../src/graph-builder/ops';
import { MAX_KERNEL_TENSORS } from '../../src/graph-builder/ops/op-helpers';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { ModelSession } from '../../src/runtime/session';

async function run(g: Graph, feeds: Record<string, Float32Array>, opset?: number) {
  const session = await ModelSession.create(toModelProto(g, { paramsAs: 'inputs', opset }));
  const shaped = Object.fromEntries(
    Object.entries(feeds).map(([k, v]) => [k, tensorData('float32', [v.length], v)]),
  );
  const out = await session.run(shaped);
  await session.release();
  return out;
}

test('a concat of 40 tensors is a tree of narrow Concats with the same result', async () => {
  const g = new Graph('concat');
  const xs = Array.from({ length: 40 }, (_, i) => g.input(`x${i}`, 'float32', [i + 1]));
  g.output('y', op.concat(xs, 0));
  const concats = g.nodes.filter((n) => n.spec.opType === 'Concat');
  expect(concats.length).toBeGreaterThan(1);
  for (const n of concats) expect(n.inputs.length + n.outputs.length).toBeLessThanOrEqual(MAX_KERNEL_TENSORS);
  const feeds = Object.fromEntries(
    xs.map((_, i) => [`x${i}`, Float32Array.from({ length: i + 1 }, (_, j) => i * 100 + j)]),
  );
  const y = (await run(g, feeds)).y.data as Float32Array;
  expect(Array.from(y)).toEqual(Object.values(feeds).flatMap((v) => Array.from(v)));
});

test('a split into 104 parts is a tree of narrow Splits with the same parts', async () => {
  const g = new Graph('split');
  const sizes = Array.from({ length: 104 }, (_, i) => (i % 5) + 1);
  const total = sizes.reduce((a, b) => a + b, 0);
  const x = g.input('x', 'float32', [total]);
  op.split(x, sizes, 0).forEach((part, i) => g.output(`p${i}`, part));
  for (const n of g.nodes.filter((m) => m.spec.opType === 'Split'))
    expect(1 + n.outputs.length).toBeLessThanOrEqual(MAX_KERNEL_TENSORS);
  const data = Float32Array.from({ length: total }, (_, i) => i);
  const out = await run(g, { x: data });
  let offset = 0;
  sizes.forEach((size, i) => {
    expect(Array.from(out[`p${i}`].data as Float32Array)).toEqual(
      Array.from(data.subarray(offset, offset + size)),
    );
    offset += size;
  });
});

test('sum of five tensors is a balanced tree of Adds', async () => {
  const g = new Graph('sum');
  const xs = Array.from({ length: 5 }, (_, i) => g.input(`x${i}`, 'float32', [3]));
  g.output('y', op.sum(...xs));
  expect(g.nodes.map((n) => n.spec.opType).filter((t) => t !== 'Identity')).toEqual([
    'Add',
    'Add',
    'Add',
    'Add',
  ]);
  const feeds = Object.fromEntries(xs.map((_, i) => [`x${i}`, Float32Array.of(i, 10 * i, 100 * i)]));
  expect(Array.from((await run(g, feeds)).y.data as Float32Array)).toEqual([10, 100, 1000]);
});

describe('Gelu below opset 20', () => {
  const build = () => {
    const g = new Graph('gelu');
    g.output('y', op.gelu(g.input('x', 'float32', [7])));
    return g;
  };
  const x = Float32Array.of(-3, -1, -0.5, 0, 0.5, 1, 3);

  test.each([18, 19])('opset %i writes the Erf form, which equals the Gelu op', async (opset) => {
    const model = toModelProto(build(), { paramsAs: 'inputs', opset });
    const nodes = model.graph!.node!.filter((n) => n.opType !== 'Identity'); // Identity: the output's name
    expect(nodes.map((n) => n.opType)).toEqual(['Mul', 'Erf', 'Add', 'Mul', 'Mul']);
    for (const n of nodes) expect(n.docString).toMatch(/lowering\.test\.ts/);
    const lowered = (await run(build(), { x }, opset)).y.data as Float32Array;
    const native = (await run(build(), { x }, 21)).y.data as Float32Array;
    lowered.forEach((v, i) => expect(v).toBeCloseTo(native[i], 6));
  });

  test('opset 20 and 21 keep the single Gelu op', () => {
    for (const opset of [20, 21]) {
      const types = toModelProto(build(), { paramsAs: 'inputs', opset }).graph!.node!.map((n) => n.opType);
      expect(types.filter((t) => t !== 'Identity')).toEqual(['Gelu']);
    }
  });
});
