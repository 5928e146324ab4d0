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

function setup(seed: number) {
  const proto = toModelProto(buildTrainStep(model, { optimizer: adamw(), clipGradNorm: 1 }), {
    paramsAs: 'inputs',
  });
  const rng = new Rng(seed);
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
  return { proto, initial, data: { x: rand([8, 4]), y: rand([8, 2]) } };
}

test('host state is written into two sets of buffers in turn; initial tensors and snapshots stay as they were', async () => {
  const { proto, initial, data } = setup(3);
  const initialCopy = new Map([...initial].map(([k, v]) => [k, v.data.slice()]));
  const s = await StepSession.create(proto, initial);
  const buffers: Record<string, unknown>[] = [];
  let snap: Map<string, TensorData> | undefined;
  let snapCopy: Map<string, TensorData['data']> | undefined;
  for (let t = 1; t <= 6; t++) {
    await s.run({ ...data, ...stepScalars(1e-2, t) });
    buffers.push(Object.fromEntries(s.carried.map((n) => [n, s.state.get(n)!.data])));
    if (t === 2) {
      snap = await s.snapshot();
      snapCopy = new Map([...snap].map(([k, v]) => [k, v.data.slice()]));
    }
  }
  for (const name of s.carried) {
    // From step 2 on, a step writes into the buffer read by the step before: two sets, no allocation.
    expect(buffers[3][name]).toBe(buffers[1][name]);
    expect(buffers[5][name]).toBe(buffers[3][name]);
    expect(buffers[4][name]).toBe(buffers[2][name]);
    expect(buffers[2][name]).not.toBe(buffers[1][name]);
  }
  for (const [k, v] of initial) expect(v.data).toEqual(initialCopy.get(k));
  expect(initial.get('fc.weight')!.data).not.toEqual(s.state.get('fc.weight')!.data);
  for (const [k, v] of snap!) expect(v.data).toEqual(snapCopy!.get(k));
  expect(snap!.get('fc.weight')!.data).not.toEqual(s.state.get('fc.weight')!.data);
  await s.release();
});

test('carrying state as ORT tensors (the WebGPU device-state path) follows the host path, which writes into its own buffers, exactly', async () => {
  const { proto, initial, data } = setup(2);
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
