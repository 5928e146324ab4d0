import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { readInitializers, readModelFile, writeModelFile } from '../../src/artifacts/onnx-file';
import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { ModelSession } from '../../src/runtime/session';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cae-onnx-test-'));

function mlp(): { graph: Graph; values: Map<string, TensorData> } {
  const g = new Graph('mlp');
  const x = g.input('x', 'float32', ['batch', 16]);
  const h = g.withScope('fc1', () =>
    op.add(op.matmul(x, g.param('weight', [16, 64])), g.param('bias', [64])),
  );
  const y = g.withScope('fc2', () => op.matmul(op.tanh(h), g.param('weight', [64, 3])));
  g.output('y', y);
  const values = new Map<string, TensorData>();
  let seed = 1;
  for (const p of g.params) {
    const n = p.tensor.shape.reduce<number>((a, d) => a * Number(d), 1);
    const data = Float32Array.from(
      { length: n },
      () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5,
    );
    values.set(p.name, tensorData('float32', p.tensor.shape as number[], data));
  }
  return { graph: g, values };
}

const x = tensorData(
  'float32',
  [2, 16],
  Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)),
);

describe('ONNX files', () => {
  test.each(['never', 'always'] as const)('round trip with external data %s', async (externalData) => {
    const { graph, values } = mlp();
    const model = toModelProto(graph, { paramsAs: 'initializers', paramValues: values });
    expect(model.irVersion).toBe(10);
    expect(model.opsetImport[0].version).toBe(21);
    const dir = tmp();
    const file = path.join(dir, 'mlp.onnx');
    writeModelFile(file, model, { externalData });
    expect(fs.existsSync(`${file}.data`)).toBe(externalData === 'always');

    const loaded = readModelFile(file);
    expect(loaded.graph!.node!.map((n) => n.opType)).toEqual(model.graph!.node!.map((n) => n.opType));
    expect(loaded.graph!.input!.map((i) => i.name)).toEqual(['x']);
    expect(loaded.graph!.input![0].type!.tensorType!.shape!.dim![0].dimParam).toBe('batch');
    const weights = readInitializers(file, loaded);
    for (const [name, value] of values) expect(weights.get(name)!.data).toEqual(value.data);

    const fromMemory = await ModelSession.create(model);
    const fromFile = await ModelSession.create(file);
    const a = await fromMemory.run({ x });
    const b = await fromFile.run({ x });
    expect(a.y.shape).toEqual([2, 3]);
    expect(b.y.data).toEqual(a.y.data);
    // The original model object still carries its inline weights.
    expect(
      model.graph!.initializer!.every((t) => t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL),
    ).toBe(true);
  });

  test('parameters as graph inputs (training form) carry no weights', () => {
    const { graph } = mlp();
    const model = toModelProto(graph, { paramsAs: 'inputs' });
    expect(model.graph!.input!.map((i) => i.name)).toEqual(['x', 'fc1.weight', 'fc1.bias', 'fc2.weight']);
    expect(model.graph!.initializer!.filter((t) => t.name?.startsWith('fc'))).toHaveLength(0);
  });

  test('a missing or mis-shaped parameter value is a clear error', () => {
    const { graph, values } = mlp();
    values.delete('fc2.weight');
    expect(() => toModelProto(graph, { paramsAs: 'initializers', paramValues: values })).toThrow(
      /fc2.weight/,
    );
    values.set('fc2.weight', tensorData('float32', [3, 64]));
    expect(() => toModelProto(graph, { paramsAs: 'initializers', paramValues: values })).toThrow(/\[64, 3\]/);
  });

  test('a model over 2 GB is written with external data and runs', async () => {
    const g = new Graph('big');
    const i = g.input('i', 'int64', [2]);
    const n = 300_000_000; // two 1.2 GB tensors: 2.4 GB of weights
    const a = g.param('a', [n]);
    const b = g.param('b', [n]);
    g.output('y', op.add(op.gather(a, i), op.gather(b, i)));
    const va = new Float32Array(n);
    const vb = new Float32Array(n);
    va[n - 1] = 1.5;
    vb[n - 1] = 2;
    vb[7] = -4;
    const values = new Map([
      ['a', tensorData('float32', [n], va)],
      ['b', tensorData('float32', [n], vb)],
    ]);
    const dir = tmp();
    const file = path.join(dir, 'big.onnx');
    writeModelFile(file, toModelProto(g, { paramsAs: 'initializers', paramValues: values }));
    expect(fs.statSync(file).size).toBeLessThan(1 << 20);
    expect(fs.statSync(`${file}.data`).size).toBeGreaterThan(2.4e9);
    const session = await ModelSession.create(file);
    const out = await session.run({ i: tensorData('int64', [2], BigInt64Array.from([7n, BigInt(n - 1)])) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([-4, 3.5]);
    await session.release();
    fs.rmSync(dir, { recursive: true });
  }, 180_000);
});
