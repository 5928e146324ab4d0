/**
 * Cost of backward + optimizer update relative to forward, for a ViT-S-sized block stack
 * (dim 384, 12 heads, MLP 4x, 12 blocks) on [batch, tokens, 384], on this machine's CPU.
 *
 *   npm run bench:autodiff -- [--batch 8] [--tokens 99] [--blocks 12] [--threads N]
 *
 * Prints one JSON object: median seconds per run of the forward graph (eval_step), of grad_step
 * (forward + backward, gradients copied out) and of the fused train_step (forward + backward +
 * AdamW, parameters and state copied out), their ratios, and the peak resident memory of a process
 * that ran only that graph (each measured in a fresh child process, so the numbers do not mix).
 */
import { execFileSync } from 'node:child_process';
import { initializeParams } from '../src/artifacts/initialize-params';
import { Graph } from '../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../src/graph-builder/core/tensor-data';
import { block } from '../src/graph-builder/modules/block';
import * as op from '../src/graph-builder/ops';
import { toModelProto } from '../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../src/graph-builder/optim/adamw';
import {
  buildEvalStep,
  buildGradStep,
  buildTrainStep,
  StepModel,
} from '../src/graph-builder/training/step-graphs';
import { Rng } from '../src/random/rng';
import { ModelSession } from '../src/runtime/session';
import { StepSession, stepScalars } from '../src/runtime/train/step-session';

type Kind = 'eval' | 'grad' | 'train';

interface Options {
  batch: number;
  tokens: number;
  blocks: number;
  threads?: number;
  runs: number;
}

function parseArgs(argv: string[]): Options & { child?: Kind } {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (flag: string, d?: number) => (get(flag) === undefined ? d : Number(get(flag)));
  return {
    batch: num('--batch', 8)!,
    tokens: num('--tokens', 99)!,
    blocks: num('--blocks', 12)!,
    threads: num('--threads'),
    runs: num('--runs', 5)!,
    child: get('--child') as Kind | undefined,
  };
}

const DIM = 384;

function stack(o: Options): StepModel {
  return (g: Graph) => {
    let x = g.input('x', 'float32', [o.batch, o.tokens, DIM]);
    for (let i = 0; i < o.blocks; i++) {
      x = g.withScope('blocks', () =>
        g.withScope(i, () => block(x, { heads: 12, mlpRatio: 4, layerScaleInit: 0.1, eps: 1e-6 })),
      );
    }
    return { loss: op.reduceMean(op.mul(x, x)) };
  };
}

/** Matmul FLOPs of one forward pass (2 per multiply-add). */
function forwardFlops(o: Options): number {
  const rows = o.batch * o.tokens;
  const linear = 2 * rows * (DIM * 3 * DIM + DIM * DIM + 2 * DIM * 4 * DIM);
  const attention = 2 * 2 * o.batch * o.tokens * o.tokens * DIM;
  return o.blocks * (linear + attention);
}

async function measure(o: Options, kind: Kind): Promise<{ seconds: number; createSeconds: number }> {
  const model = stack(o);
  const probe = new Graph();
  model(probe);
  const params = initializeParams(probe.params, 0);
  const rng = new Rng(1);
  const x: TensorData = tensorData(
    'float32',
    [o.batch, o.tokens, DIM],
    Float32Array.from({ length: o.batch * o.tokens * DIM }, () => rng.normal()),
  );
  const config = { threads: o.threads };
  const t0 = performance.now();
  const times: number[] = [];
  if (kind === 'eval' || kind === 'grad') {
    const graph = kind === 'eval' ? buildEvalStep(model) : buildGradStep(model);
    const session = await ModelSession.create(toModelProto(graph, { paramsAs: 'inputs' }), config);
    const created = performance.now();
    const feeds = { x, ...Object.fromEntries(params) };
    for (let i = 0; i <= o.runs; i++) {
      const s = performance.now();
      await session.run(feeds);
      if (i > 0) times.push(performance.now() - s);
    }
    return { seconds: median(times) / 1000, createSeconds: (created - t0) / 1000 };
  }
  const graph = buildTrainStep(model, { optimizer: adamw(), clipGradNorm: 3 });
  const session = await StepSession.create(toModelProto(graph, { paramsAs: 'inputs' }), params, config);
  const created = performance.now();
  for (let i = 0; i <= o.runs; i++) {
    const s = performance.now();
    await session.run({ x, ...stepScalars(1e-4, i + 1) });
    if (i > 0) times.push(performance.now() - s);
  }
  return { seconds: median(times) / 1000, createSeconds: (created - t0) / 1000 };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) {
    const r = await measure(o, o.child);
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(JSON.stringify({ ...r, peakRssMiB }));
    return;
  }
  const run = (kind: string) =>
    JSON.parse(
      execFileSync(process.execPath, [__filename, ...process.argv.slice(2), '--child', kind], {
        encoding: 'utf8',
      }),
    ) as { seconds: number; createSeconds: number; peakRssMiB: number };
  const forward = run('eval');
  const gradOnly = run('grad');
  const train = run('train');
  const flops = forwardFlops(o);
  console.log(
    JSON.stringify(
      {
        config: { ...o, dim: DIM, heads: 12 },
        forward: { ...forward, gflops: (flops / forward.seconds / 1e9).toFixed(1) },
        gradStep: { ...gradOnly, gflops: ((3 * flops) / gradOnly.seconds / 1e9).toFixed(1) },
        trainStep: { ...train, gflops: ((3 * flops) / train.seconds / 1e9).toFixed(1) },
        backwardOverForward: +((gradOnly.seconds - forward.seconds) / forward.seconds).toFixed(2),
        backwardPlusUpdateOverForward: +((train.seconds - forward.seconds) / forward.seconds).toFixed(2),
        trainStepOverForward: +(train.seconds / forward.seconds).toFixed(2),
        extraPeakRssMiB: Math.round(train.peakRssMiB - forward.peakRssMiB),
      },
      null,
      2,
    ),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
