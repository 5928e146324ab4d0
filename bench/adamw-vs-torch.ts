/**
 * One fused train_step (AdamW + clip_grad_norm_) against PyTorch's AdamW on the same tensors.
 * Needs Debian's python3-torch (never needed by the product or its tests).
 *
 *   npm run bench:build && node dist-bench/bench/adamw-vs-torch.js [--python /usr/bin/python3]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph } from '../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../src/graph-builder/core/tensor-data';
import * as op from '../src/graph-builder/ops';
import { toModelProto } from '../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../src/graph-builder/optim/adamw';
import { buildTrainStep, stateInputName } from '../src/graph-builder/training/step-graphs';
import { Rng } from '../src/random/rng';
import { StepSession, stepScalars } from '../src/runtime/train/step-session';

const SHAPES: Record<string, number[]> = {
  'blocks.0.attn.qkv.weight': [96, 32],
  'blocks.0.attn.q_bias': [32],
  'blocks.0.mlp.fc1.weight': [128, 32],
  'blocks.0.gamma_1': [32],
};
const H = { lr: 1.5e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.05, clip: 3.0, step: 7 };

async function main() {
  const argv = process.argv.slice(2);
  const python = argv.includes('--python') ? argv[argv.indexOf('--python') + 1] : '/usr/bin/python3';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adamw-vs-torch-'));
  const rng = new Rng(11);
  const rand = (shape: number[], f: () => number) =>
    tensorData('float32', shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, f));
  const save = (name: string, t: TensorData) =>
    fs.writeFileSync(path.join(dir, `${name}.f32`), t.data as Float32Array);

  const graph = buildTrainStep(
    (g: Graph) => ({
      loss: op.sum(
        ...Object.entries(SHAPES).map(([n, s]) =>
          op.reduceSum(op.mul(g.param(n, s), g.input(`G.${n}`, 'float32', s))),
        ),
      ),
    }),
    {
      optimizer: adamw({ beta1: H.beta1, beta2: H.beta2, eps: H.eps, weightDecay: H.wd }),
      clipGradNorm: H.clip,
    },
  );
  const initial = new Map<string, TensorData>();
  const feeds: Record<string, TensorData> = { ...stepScalars(H.lr, H.step) };
  for (const [name, shape] of Object.entries(SHAPES)) {
    const p = rand(shape, () => rng.normal());
    const g = rand(shape, () => rng.normal() * 0.5);
    const m = rand(shape, () => rng.normal() * 0.1);
    const v = rand(shape, () => rng.uniform() * 0.01);
    initial.set(name, p);
    initial.set(stateInputName('exp_avg', name), m);
    initial.set(stateInputName('exp_avg_sq', name), v);
    feeds[`G.${name}`] = g;
    save(`p.${name}`, p);
    save(`g.${name}`, g);
    save(`m.${name}`, m);
    save(`v.${name}`, v);
  }
  const session = await StepSession.create(toModelProto(graph, { paramsAs: 'inputs' }), initial);
  const out = await session.run(feeds);
  for (const name of Object.keys(SHAPES)) {
    save(`out.p.${name}`, session.state.get(name)!);
    save(`out.m.${name}`, session.state.get(stateInputName('exp_avg', name))!);
    save(`out.v.${name}`, session.state.get(stateInputName('exp_avg_sq', name))!);
  }
  const meta = { ...H, shapes: SHAPES, grad_norm_ours: Number(out.grad_norm.data[0]) };
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  const result = execFileSync(python, [path.join(__dirname, '../../bench/torch/adamw_check.py'), dir], {
    encoding: 'utf8',
  });
  console.log(result.trim());
  fs.rmSync(dir, { recursive: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
