import { Graph } from '../../src/graph-builder/core/graph';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { ModelSession } from '../../src/runtime/session';
import { tensorData } from '../../src/graph-builder/core/tensor-data';

test('smoke', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['batch', 4]);
  const w = g.param('w', [4, 3]);
  const y = op.softmax(op.add(op.matmul(x, w), 1));
  g.output('y', y);
  const model = toModelProto(g, { paramsAs: 'inputs' });
  const s = await ModelSession.create(model);
  const out = await s.run({ x: tensorData('float32', [2, 4], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])), w: tensorData('float32', [4, 3]) });
  expect(Array.from(out.y.data as Float32Array)).toEqual(new Array(6).fill(1 / 3).map(Math.fround));
});
