/**
 * A fine-tuning build and run through the library: each parameter's effective learning rate (layer
 * decay) and weight-decay group, in the fused train_step and in host AdamW (accumulation); mixup and
 * cutmix drawn per (seed, step); exact resume with every random augmentation on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFinetuneArtifacts } from '../../src/artifacts/finetune-build';
import type { Manifest } from '../../src/artifacts/manifest';
import { readSafetensors } from '../../src/artifacts/safetensors';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { FINETUNE_INPUTS } from '../../src/graph-builder/finetune/classifier';
import { ADAMW_DEFAULTS } from '../../src/graph-builder/optim/adamw';
import { gradOutputName } from '../../src/graph-builder/training/step-graphs';
import { Rng } from '../../src/random/rng';
import { BatchLoader } from '../../src/runtime/data/loader';
import { MIXUP_DEFAULTS } from '../../src/runtime/data/mixup';
import { RANDOM_ERASING_DEFAULTS } from '../../src/runtime/data/random-erasing';
import { classificationTask, FinetuneRunOptions } from '../../src/runtime/finetune/classification-task';
import { ModelSession } from '../../src/runtime/session';
import { readCheckpoint } from '../../src/runtime/train/checkpoint';
import { hostAdamWStep } from '../../src/runtime/train/host-adamw';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { StepSession, stepScalars } from '../../src/runtime/train/step-session';
import { stepRng } from '../../src/runtime/train/step-inputs';
import { RunOptions, train } from '../../src/runtime/train/trainer';
import { smallCaeConfig } from '../helpers/small-cae';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cae-ft-run-'));
const DEPTH = 2;
const DECAY = 0.65;
const CLASSES = 10;
const config = smallCaeConfig({ batch: 8, depth: DEPTH, dropPathRate: 0.1 });

function makeBuild(weightDecay = 0.05): { dir: string; manifest: Manifest } {
  const dir = path.join(tmp(), 'build');
  const manifest = buildFinetuneArtifacts({
    outDir: dir,
    config,
    classNames: Array.from({ length: CLASSES }, (_, i) => `c${i}`),
    layerDecay: DECAY,
    optimizer: { ...ADAMW_DEFAULTS, weightDecay },
    normalization: { mean: [0.5], std: [0.5] },
    seed: 3,
    initializedFrom: 'random',
  });
  return { dir, manifest };
}

/** The layer each parameter belongs to, written out by name (not by the code under test). */
function expectedLayer(name: string): number {
  if (name.startsWith('encoder.patch_embed.') || name === 'encoder.cls_token') return 0;
  const block = /^encoder\.blocks\.(\d+)\./.exec(name);
  if (block) return Number(block[1]) + 1;
  if (name.startsWith('fc_norm.') || name.startsWith('head.')) return DEPTH + 1;
  throw new Error(`unexpected parameter ${name}`);
}

function feeds(seed: number): Record<string, TensorData> {
  const rng = new Rng(seed);
  const b = config.batch;
  const targets = new Float32Array(b * CLASSES);
  for (let i = 0; i < b; i++) targets[i * CLASSES + (i % CLASSES)] = 1;
  return {
    [FINETUNE_INPUTS.images]: tensorData(
      'float32',
      [b, 1, 28, 28],
      Float32Array.from({ length: b * 784 }, () => rng.normal()),
    ),
    [FINETUNE_INPUTS.targets]: tensorData('float32', [b, CLASSES], targets),
    [FINETUNE_INPUTS.keep]: tensorData('float32', [DEPTH, b], new Float32Array(DEPTH * b).fill(1)),
  };
}

test('weight decay skips norms, biases and the cls token; lr scales are decay^(depth+1-layer)', () => {
  const { manifest } = makeBuild();
  for (const p of manifest.params) {
    expect([p.name, p.weightDecay]).toEqual([p.name, p.shape.length > 1 && p.name !== 'encoder.cls_token']);
    expect([p.name, p.lrScale]).toEqual([p.name, DECAY ** (DEPTH + 1 - expectedLayer(p.name))]);
  }
});

test("each parameter's effective lr in train_step and in host AdamW is base x decay^(depth+1-layer)", async () => {
  const { dir, manifest } = makeBuild();
  const params = readSafetensors(path.join(dir, 'params.safetensors')).tensors;
  const input = feeds(1);
  const lr = 1e-3;
  const step = await StepSession.create(path.join(dir, 'train_step.onnx'), params);
  await step.run({ ...input, ...stepScalars(lr, 1) });
  const after = await step.snapshot();
  await step.release();
  const gradSession = await ModelSession.create(path.join(dir, 'grad_step.onnx'));
  const grads = await gradSession.run({ ...input, ...Object.fromEntries(params) });
  await gradSession.release();
  const wd = manifest.optimizer.weightDecay;
  const host = manifest.params.map((p) => ({
    name: p.name,
    value: Float32Array.from(params.get(p.name)!.data as Float32Array),
    grad: Float32Array.from(grads[gradOutputName(p.name)].data as Float32Array),
    expAvg: new Float32Array(params.get(p.name)!.data.length),
    expAvgSq: new Float32Array(params.get(p.name)!.data.length),
    weightDecay: p.weightDecay,
    lrScale: p.lrScale ?? 1,
  }));
  hostAdamWStep(host, manifest.optimizer, lr, 1);
  for (const [k, p] of manifest.params.entries()) {
    const want = lr * DECAY ** (DEPTH + 1 - expectedLayer(p.name));
    const before = params.get(p.name)!.data as Float32Array;
    const fused = after.get(p.name)!.data as Float32Array;
    const g = grads[gradOutputName(p.name)].data as Float32Array;
    // Adam's first step moves by lr_p * g / (|g| + eps), decoupled decay by lr_p * wd * p: solve for
    // lr_p (the small head makes the encoder's gradients small, so eps is kept in).
    const eps = manifest.optimizer.eps;
    const inferred: number[] = [];
    for (let i = 0; i < before.length; i++) {
      if (Math.abs(g[i]) < 1e-8) continue;
      const direction = g[i] / (Math.abs(g[i]) + eps) + (p.weightDecay ? wd * before[i] : 0);
      inferred.push((before[i] - fused[i]) / direction);
    }
    expect([p.name, inferred.length > 0]).toEqual([p.name, true]);
    inferred.sort((a, b) => a - b);
    const median = inferred[inferred.length >> 1];
    expect([p.name, Math.abs(median - want) / want < 1e-2]).toEqual([p.name, true]);
    // Host AdamW (gradient accumulation) applies the same scale.
    let worst = 0;
    for (let i = 0; i < fused.length; i++) worst = Math.max(worst, Math.abs(host[k].value[i] - fused[i]));
    expect([p.name, worst < 1e-6]).toEqual([p.name, true]);
  }
});

function runOptions(dir: string): RunOptions {
  const finetune: FinetuneRunOptions = {
    val: { kind: 'mnist', split: 'test' },
    valLimit: 64,
    evalEvery: 8,
    mixup: { ...MIXUP_DEFAULTS },
    erase: RANDOM_ERASING_DEFAULTS,
  };
  return {
    buildDir: dir,
    data: { kind: 'mnist', split: 'train' },
    steps: 16,
    schedule: { baseLr: 2e-3, minLr: 1e-6, warmupSteps: 2, totalSteps: 16 },
    seed: 5,
    accumulate: 1,
    augment: { scale: [0.35, 1], ratio: [3 / 4, 4 / 3], flip: true },
    alignmentDropPath: false,
    limit: 128,
    checkpointEvery: 4,
    threads: 1,
    finetune,
  };
}

test('mixup / cutmix are drawn per (seed, step): the same step gives the same batch, other steps others', async () => {
  const { dir, manifest } = makeBuild();
  const run = runOptions(dir);
  const task = await classificationTask(manifest, dir, {
    finetune: run.finetune!,
    totalSteps: 16,
    session: {},
  });
  const loader = await BatchLoader.open({
    source: run.data,
    imageSize: 28,
    channels: 1,
    batchSize: 8,
    seed: 5,
    augment: false,
    mean: [0.5],
    std: [0.5],
    workers: 0,
  });
  const batch = await loader.next();
  await loader.close();
  const targets = async (step: number) =>
    (await task.feeds(batch, stepRng(5, step)))[FINETUNE_INPUTS.targets].data as Float32Array;
  const first = await targets(3);
  expect(await targets(3)).toEqual(first);
  const others = await Promise.all([4, 5, 6, 7].map(targets));
  for (const t of others) expect(t).not.toEqual(first);
  // Mixed: rows are not smoothed one-hots but carry two labels' weights.
  const mixedRows = [first, ...others].filter((t) => {
    const row = Array.from(t.subarray(0, CLASSES)).sort((a, b) => b - a);
    return row[1] > 0.1 / CLASSES + 1e-6;
  });
  expect(mixedRows.length).toBeGreaterThan(0);
  await task.release();
});

test('a fine-tuning run stopped and resumed equals the uninterrupted run bit for bit', async () => {
  const { dir } = makeBuild();
  const quiet = {
    ep: 'cpu' as const,
    workers: 1,
    logEvery: 100,
    say: () => undefined,
    status: () => undefined,
  };
  const whole = path.join(tmp(), 'whole');
  await train({ runDir: whole, run: runOptions(dir), ...quiet });
  const parts = path.join(tmp(), 'parts');
  const first = await train({ runDir: parts, run: runOptions(dir), stopAfter: 6, ...quiet });
  expect(first.lastStep).toBe(6);
  const rest = await train({ runDir: parts, resume: true, ...quiet });
  expect(rest.lastStep).toBe(16);
  const a = readMetrics(path.join(whole, 'metrics.jsonl'));
  const b = readMetrics(path.join(parts, 'metrics.jsonl'));
  expect(b.map((m) => m.loss)).toEqual(a.map((m) => m.loss));
  expect(b.map((m) => m.val_top1)).toEqual(a.map((m) => m.val_top1));
  expect(a.filter((m) => m.val_top1 !== undefined).map((m) => m.step)).toEqual([8, 16]);
  const pa = readCheckpoint(whole).params;
  const pb = readCheckpoint(parts).params;
  for (const [name, t] of pa)
    expect([name, Buffer.from((pb.get(name)!.data as Float32Array).buffer)]).toEqual([
      name,
      Buffer.from((t.data as Float32Array).buffer),
    ]);
}, 120_000);
