import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { linear } from '../../src/graph-builder/modules/linear';
import { mse } from '../../src/graph-builder/modules/losses';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../../src/graph-builder/optim/adamw';
import { buildTrainStep } from '../../src/graph-builder/training/step-graphs';
import { Rng } from '../../src/random/rng';
import { StepSession, stepScalars } from '../../src/runtime/train/step-session';

function model(g: Graph) {
  const x = g.input('x', 'float32', [8, 4]);
  const y = g.input('y', 'float32', [8, 2]);
  const h = g.withScope('fc', () => linear(op.tanh(x), 2));
  return { loss: mse(h, y) };
}

test('carrying state as ORT tensors (the WebGPU device-state path) follows the host path exactly', async () => {
  const proto = toModelProto(buildTrainStep(model, { optimizer: adamw(), clipGradNorm: 1 }), {
    paramsAs: 'inputs',
  });
  const rng = new Rng(2);
  const rand = (shape: number[]) =>
    tensorData(
      'float32',
      shape,
      Float32Array.from({ length: shape[0] * shape[1] }, () => rng.normal()),
    );
  const initial = new Map<string, TensorData>([
    ['fc.weight', rand([2, 4])],
    ['fc.bias', tensorData('float32', [2], Float32Array.of(0.1, -0.2))],
  ]);
  const data = { x: rand([8, 4]), y: rand([8, 2]) };
  const host = await StepSession.create(proto, initial);
  const carried = await StepSession.create(proto, initial, {}, { deviceState: true, location: 'cpu' });
  for (let t = 1; t <= 5; t++) {
    const a = await host.run({ ...data, ...stepScalars(1e-2, t) });
    const b = await carried.run({ ...data, ...stepScalars(1e-2, t) });
    expect(b.loss.data).toEqual(a.loss.data);
  }
  const snap = await carried.snapshot();
  expect([...snap.keys()].sort()).toEqual([...host.state.keys()].sort());
  for (const [k, v] of host.state) expect(snap.get(k)!.data).toEqual(v.data);
});
