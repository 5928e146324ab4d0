/**
 * The optimizer graphs against straight transcriptions of torch.optim.AdamW / SGD and
 * clip_grad_norm_ in float64. The model's loss is sum(p * G) with G fed per step, so the gradient is
 * exactly G and only the optimizer is under test.
 */
import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../../src/graph-builder/optim/adamw';
import { sgd } from '../../src/graph-builder/optim/sgd';
import { buildTrainStep } from '../../src/graph-builder/training/step-graphs';
import { StepSession, stepScalars } from '../../src/runtime/train/step-session';
import { Rng } from '../../src/random/rng';
import { hostAdamWStep } from '../../src/runtime/train/host-adamw';

const SHAPES: Record<string, number[]> = { 'w.weight': [3, 4], 'w.bias': [4], scale: [5] };

/** loss = sum_p sum(p * G_p); G_p arrive as inputs `G.<p>`. */
function linearLossModel(g: Graph) {
  const terms = Object.entries(SHAPES).map(([name, shape]) => {
    const p = g.param(name, shape);
    return op.reduceSum(op.mul(p, g.input(`G.${name}`, 'float32', shape)));
  });
  return { loss: op.sum(...terms) };
}

const rng = new Rng(5);
const randomValues = (shape: number[], scale = 1) =>
  Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale);

const f32 = (shape: number[], v: Float64Array): TensorData =>
  tensorData('float32', shape, Float32Array.from(v));
/** What the float32 graph actually sees, so the reference starts from identical values. */
const rounded = (v: Float64Array) => Float64Array.from(Float32Array.from(v));

interface RefState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** torch.optim.AdamW.step for one parameter (single-tensor path), in float64. */
function torchAdamW(
  s: RefState,
  g: Float64Array,
  t: number,
  lr: number,
  h: { b1: number; b2: number; eps: number; wd: number },
) {
  for (let i = 0; i < s.p.length; i++) s.p[i] *= 1 - lr * h.wd;
  for (let i = 0; i < s.p.length; i++) {
    s.m[i] = h.b1 * s.m[i] + (1 - h.b1) * g[i];
    s.v[i] = h.b2 * s.v[i] + (1 - h.b2) * g[i] * g[i];
  }
  const stepSize = lr / (1 - h.b1 ** t);
  const bc2Sqrt = Math.sqrt(1 - h.b2 ** t);
  for (let i = 0; i < s.p.length; i++) s.p[i] -= (stepSize * s.m[i]) / (Math.sqrt(s.v[i]) / bc2Sqrt + h.eps);
}

/** torch.nn.utils.clip_grad_norm_: returns the total norm, scales in place. */
function torchClip(grads: Float64Array[], maxNorm: number): number {
  const norm = Math.sqrt(grads.reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));
  const coef = Math.min(maxNorm / (norm + 1e-6), 1);
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}

function expectClose(actual: ArrayLike<number>, expected: Float64Array, tol: number) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  }
  expect(worst).toBeLessThan(tol);
}

test.each([
  ['without clipping', undefined],
  ['with clipping at norm 1', 1],
])('AdamW matches torch.optim.AdamW over 5 steps, %s', async (_name, clip) => {
  const h = { b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.05 };
  const graph = buildTrainStep(linearLossModel, {
    optimizer: adamw({ beta1: h.b1, beta2: h.b2, eps: h.eps, weightDecay: h.wd }),
    clipGradNorm: clip,
  });
  const initial = new Map<string, TensorData>();
  const ref = new Map<string, RefState>();
  for (const [name, shape] of Object.entries(SHAPES)) {
    const p = rounded(randomValues(shape));
    initial.set(name, f32(shape, p));
    ref.set(name, { p, m: new Float64Array(p.length), v: new Float64Array(p.length) });
  }
  const session = await StepSession.create(toModelProto(graph, { paramsAs: 'inputs' }), initial);
  for (let t = 1; t <= 5; t++) {
    const lr = 1e-2 * t;
    // 'scale' gets gradients near eps (sqrt(v) ~ 1e-7), where eps inside vs outside the sqrt differs.
    const grads = Object.entries(SHAPES).map(([name, shape]) =>
      rounded(randomValues(shape, name === 'scale' ? 1e-7 : 2)),
    );
    const feeds: Record<string, TensorData> = { ...stepScalars(lr, t) };
    Object.entries(SHAPES).forEach(([name, shape], k) => (feeds[`G.${name}`] = f32(shape, grads[k])));
    const out = await session.run(feeds);
    const norm =
      clip === undefined
        ? Math.sqrt(grads.reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0))
        : torchClip(grads, clip);
    expect(Number(out.grad_norm.data[0])).toBeCloseTo(norm, 4);
    Object.keys(SHAPES).forEach((name, k) => {
      // The reference applies no decay to 1-D tensors, as the parameter's weightDecay flag says.
      torchAdamW(ref.get(name)!, grads[k], t, lr, { ...h, wd: SHAPES[name].length > 1 ? h.wd : 0 });
    });
  }
  for (const name of Object.keys(SHAPES)) {
    expectClose(session.state.get(name)!.data as Float32Array, ref.get(name)!.p, 1e-6);
    expectClose(session.state.get(`exp_avg_sq.${name}`)!.data as Float32Array, ref.get(name)!.v, 1e-6);
  }
  await session.release();
});

test.each([false, true])('SGD with momentum (nesterov %s) matches torch.optim.SGD', async (nesterov) => {
  const momentum = 0.9;
  const wd = 1e-2;
  const graph = buildTrainStep(linearLossModel, { optimizer: sgd({ momentum, nesterov, weightDecay: wd }) });
  const initial = new Map<string, TensorData>();
  const ref = new Map<string, { p: Float64Array; buf?: Float64Array }>();
  for (const [name, shape] of Object.entries(SHAPES)) {
    const p = rounded(randomValues(shape));
    initial.set(name, f32(shape, p));
    ref.set(name, { p });
  }
  const session = await StepSession.create(toModelProto(graph, { paramsAs: 'inputs' }), initial);
  for (let t = 1; t <= 4; t++) {
    const lr = 0.1;
    const feeds: Record<string, TensorData> = { ...stepScalars(lr, t) };
    for (const [name, shape] of Object.entries(SHAPES)) {
      const gRaw = rounded(randomValues(shape));
      feeds[`G.${name}`] = f32(shape, gRaw);
      const s = ref.get(name)!;
      const decay = shape.length > 1 ? wd : 0;
      const g = gRaw.map((x, i) => x + decay * s.p[i]);
      s.buf = s.buf ? s.buf.map((b, i) => momentum * b + g[i]) : Float64Array.from(g); // torch: buf = g at step 1
      const d = nesterov ? g.map((x, i) => x + momentum * s.buf![i]) : s.buf;
      s.p = s.p.map((x, i) => x - lr * d[i]);
    }
    await session.run(feeds);
  }
  for (const name of Object.keys(SHAPES))
    expectClose(session.state.get(name)!.data as Float32Array, ref.get(name)!.p, 1e-6);
  await session.release();
});

test('the host AdamW (gradient accumulation) matches the same torch transcription, clipping included', () => {
  const h = { b1: 0.9, b2: 0.95, eps: 1e-8, wd: 0.05 };
  const shapes = Object.entries(SHAPES);
  const host = shapes.map(([name, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return {
      name,
      value: Float32Array.from(randomValues(shape)),
      grad: new Float32Array(n),
      expAvg: new Float32Array(n),
      expAvgSq: new Float32Array(n),
      weightDecay: shape.length > 1,
      lrScale: 1,
    };
  });
  const ref = host.map((p) => ({
    p: Float64Array.from(p.value),
    m: new Float64Array(p.value.length),
    v: new Float64Array(p.value.length),
  }));
  const spec = {
    name: 'adamw' as const,
    beta1: h.b1,
    beta2: h.b2,
    eps: h.eps,
    weightDecay: h.wd,
    clipGradNorm: 1,
    stateSlots: [],
  };
  for (let t = 1; t <= 4; t++) {
    const grads = shapes.map(([, shape]) => rounded(randomValues(shape, 2)));
    host.forEach((p, k) => p.grad.set(grads[k]));
    const norm = hostAdamWStep(host, spec, 1e-2, t);
    expect(norm).toBeCloseTo(torchClip(grads, 1), 4);
    host.forEach((p, k) => torchAdamW(ref[k], grads[k], t, 1e-2, { ...h, wd: p.weightDecay ? h.wd : 0 }));
  }
  host.forEach((p, k) => expectClose(p.value, ref[k].p, 1e-6));
});
