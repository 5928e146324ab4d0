/**
 * Profiles the fused train_step of the ViT-S block stack with ORT's profiler and prints the
 * per-op-type summary, plus the host time per step spent outside session.run's kernels.
 *
 *   npm run bench:build && node dist-bench/bench/profile-train-step.js [--batch 8] [--blocks 12] [--grad-only]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initializeParams } from '../src/artifacts/initialize-params';
import { Graph } from '../src/graph-builder/core/graph';
import { tensorData } from '../src/graph-builder/core/tensor-data';
import { block } from '../src/graph-builder/modules/block';
import * as op from '../src/graph-builder/ops';
import { toModelProto } from '../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../src/graph-builder/optim/adamw';
import { buildGradStep, buildTrainStep, StepModel } from '../src/graph-builder/training/step-graphs';
import { StepSession, stepScalars } from '../src/runtime/train/step-session';
import { summarize } from './profile-summary';

async function main() {
  const argv = process.argv.slice(2);
  const arg = (f: string, d: number) => (argv.includes(f) ? Number(argv[argv.indexOf(f) + 1]) : d);
  const batch = arg('--batch', 8);
  const blocks = arg('--blocks', 12);
  const tokens = 99;
  const dim = 384;
  const model: StepModel = (g: Graph) => {
    let x = g.input('x', 'float32', [batch, tokens, dim]);
    for (let i = 0; i < blocks; i++) {
      x = g.withScope('blocks', () =>
        g.withScope(i, () => block(x, { heads: 12, mlpRatio: 4, layerScaleInit: 0.1, eps: 1e-6 })),
      );
    }
    return { loss: op.reduceMean(op.mul(x, x)) };
  };
  const probe = new Graph();
  model(probe);
  const graph = argv.includes('--grad-only')
    ? buildGradStep(model)
    : buildTrainStep(model, { optimizer: adamw(), clipGradNorm: 3 });
  const session = await StepSession.create(
    toModelProto(graph, { paramsAs: 'inputs' }),
    initializeParams(probe.params, 0),
    {
      enableProfiling: true,
      profilePrefix: path.join(os.tmpdir(), 'cae-onnx-profile'),
    },
  );
  const x = tensorData('float32', [batch, tokens, dim], new Float32Array(batch * tokens * dim).fill(0.1));
  for (let i = 1; i <= 4; i++) {
    const s = performance.now();
    await session.run({ x, ...stepScalars(1e-4, i) });
    console.log(`step ${i}: ${(performance.now() - s).toFixed(0)} ms`);
  }
  const file = session.endProfiling();
  console.log(summarize(file));
  fs.rmSync(file);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
