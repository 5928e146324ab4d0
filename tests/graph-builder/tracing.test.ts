import { GraphBuildError } from '../../src/graph-builder/core/errors';
import { Graph } from '../../src/graph-builder/core/graph';
import { toNumbers } from '../../src/graph-builder/core/tensor-data';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { ModelSession } from '../../src/runtime/session';

describe('shape errors are reported at build time', () => {
  test('mismatched matmul names the op, the shapes and this file', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 196, 384]);
    const w = g.param('w', [192, 384]);
    let error: unknown;
    try {
      op.matmul(x, w);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphBuildError);
    const message = (error as Error).message;
    expect(message).toMatch(/^MatMul built at .*tracing\.test\.ts:\d+/);
    expect(message).toContain('[batch, 196, 384] @ [192, 384]');
    expect((error as GraphBuildError).opType).toBe('MatMul');
  });

  test.each([
    [
      'add of non-broadcasting shapes',
      (g: Graph) => op.add(g.input('a', 'float32', [3, 4]), g.input('b', 'float32', [5])),
    ],
    ['mixed element types', (g: Graph) => op.mul(g.input('a', 'float32', [3]), g.input('b', 'float64', [3]))],
    [
      'dynamic vs static dims',
      (g: Graph) => op.add(g.input('a', 'float32', ['batch', 4]), g.input('b', 'float32', [3, 4])),
    ],
    ['reshape to a wrong size', (g: Graph) => op.reshape(g.input('a', 'float32', [3, 4]), [5, 2])],
    ['transpose with a bad perm', (g: Graph) => op.transpose(g.input('a', 'float32', [3, 4]), [0, 0])],
    ['softmax axis out of range', (g: Graph) => op.softmax(g.input('a', 'float32', [3, 4]), { axis: 2 })],
    [
      'layer norm scale of the wrong size',
      (g: Graph) => op.layerNorm(g.input('a', 'float32', [3, 4]), g.param('s', [3])),
    ],
    [
      'gather with float indices',
      (g: Graph) => op.gather(g.input('a', 'float32', [3, 4]), g.input('i', 'float32', [2])),
    ],
    [
      'concat of different ranks',
      (g: Graph) => op.concat([g.input('a', 'float32', [3, 4]), g.input('b', 'float32', [3])], 0),
    ],
    ['split sizes not covering the dim', (g: Graph) => op.split(g.input('a', 'float32', [3, 4]), [1, 2], 1)],
    ['squeeze of a non-1 dim', (g: Graph) => op.squeeze(g.input('a', 'float32', [3, 4]), [0])],
    [
      'conv channel mismatch',
      (g: Graph) => op.conv(g.input('x', 'float32', [1, 3, 8, 8]), g.param('w', [4, 2, 3, 3])),
    ],
    [
      'expand to a named dim the input lacks',
      (g: Graph) => op.expand(g.input('x', 'float32', [1, 4]), ['batch', 4]),
    ],
  ])('%s', (_name, build) => {
    expect(() => build(new Graph())).toThrow(GraphBuildError);
  });

  test('a name used twice is refused', () => {
    const g = new Graph();
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
  });

  test('tensors of two graphs do not mix', () => {
    const a = new Graph().input('x', 'float32', [2]);
    const b = new Graph().input('y', 'float32', [2]);
    expect(() => op.add(a, b)).toThrow(/another graph/);
  });
});

describe('tracing', () => {
  test('parameters are named by scope', () => {
    const g = new Graph();
    g.withScope('encoder', () =>
      g.withScope('blocks', () =>
        g.withScope(3, () => g.withScope('attn', () => g.withScope('qkv', () => g.param('weight', [6, 2])))),
      ),
    );
    const b = g.withScope('encoder', () =>
      g.param('cls_token', [1, 1, 2], { init: { kind: 'trunc_normal', std: 0.02 } }),
    );
    expect(g.params.map((p) => p.name)).toEqual(['encoder.blocks.3.attn.qkv.weight', 'encoder.cls_token']);
    expect(g.params.map((p) => p.weightDecay)).toEqual([true, true]);
    expect(b.kind).toBe('param');
    expect(g.withScope('x', () => g.param('bias', [2])) && g.params[2].weightDecay).toBe(false);
  });

  test('trivial ops on constants fold at build time and add no nodes', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 3, 4]);
    const shape = op.shapeOf(x, 1);
    const doubled = op.mul(op.add(g.scalar(2, 'float32'), 1), 2);
    const reshaped = op.reshape(
      g.constant({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) }),
      [3, 2],
    );
    expect(g.nodes).toHaveLength(0);
    expect(toNumbers(shape.value!)).toEqual([3, 4]);
    expect(toNumbers(doubled.value!)).toEqual([6]);
    expect(reshaped.value!.shape).toEqual([3, 2]);
    expect(op.shapeOf(x).value).toBeUndefined();
  });

  test('folding never grows the model: a large Expand of a constant stays a node', () => {
    const g = new Graph();
    const big = op.expand(g.scalar(0, 'float32'), [64, 64]);
    const small = op.expand(g.scalar(0, 'float32'), [4, 4]);
    expect(big.kind).toBe('intermediate');
    expect(small.kind).toBe('constant');
  });

  test('flattening a dynamic batch gives a product dim, and reshaping back recovers it', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 50, 64]);
    const rows = op.reshape(x, [-1, 64]);
    expect(rows.shape).toEqual(['batch*50', 64]);
    expect(op.reshape(rows, ['batch', 50, 64]).shape).toEqual(['batch', 50, 64]);
    expect(() => op.reshape(rows, ['other', 50, 64])).toThrow(/named dim 'other'/);
  });

  test('equal small constants are shared', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    op.add(op.mul(x, 0.5), 0.5);
    const constants = new Set(g.nodes.flatMap((n) => n.inputs).filter((t) => t?.kind === 'constant'));
    expect(constants.size).toBe(1);
  });

  test('nodes not reaching an output are not serialized', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    op.exp(x);
    g.output('y', op.neg(x));
    const model = toModelProto(g, { paramsAs: 'inputs' });
    expect(model.graph!.node!.map((n) => n.opType)).toEqual(['Neg']);
  });

  test('graph outputs are written without their Identity where a node can take the output name', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const y = op.neg(x);
    g.output('y', y);
    g.output('y_again', y); // the same tensor twice: the second keeps its Identity
    g.output('x_out', x); // a graph input: no node to rename
    g.output('z', op.exp(y)); // y is consumed under its new name
    const model = toModelProto(g, { paramsAs: 'inputs' }).graph!;
    expect(model.node!.map((n) => [n.opType, n.input, n.output])).toEqual([
      ['Neg', ['x'], ['y']],
      ['Identity', ['y'], ['y_again']],
      ['Identity', ['x'], ['x_out']],
      ['Exp', ['y'], ['z']],
    ]);
    expect(model.output!.map((o) => o.name)).toEqual(['y', 'y_again', 'x_out', 'z']);
    expect(model.valueInfo!.map((v) => v.name)).toEqual([]);
  });

  test('every node records the model code that built it', () => {
    const g = new Graph();
    const y = op.tanh(g.input('x', 'float32', [2]));
    expect(y.producer!.callSite).toMatch(/tracing\.test\.ts:\d+/);
  });
});

test('an ORT run-time failure names the model code that built the node', async () => {
  const g = new Graph();
  const data = g.input('data', 'float32', [4, 2]);
  const idx = g.input('idx', 'int64', [3]);
  g.output('y', op.gather(data, idx));
  const session = await ModelSession.create(toModelProto(g, { paramsAs: 'inputs' }));
  const feeds = {
    data: { dtype: 'float32' as const, shape: [4, 2], data: new Float32Array(8) },
    idx: { dtype: 'int64' as const, shape: [3], data: BigInt64Array.from([0n, 9n, 1n]) },
  };
  await expect(session.run(feeds)).rejects.toThrow(/was built at .*tracing\.test\.ts:\d+/);
});
