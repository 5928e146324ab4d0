import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PARAMS_FILE } from '../../artifacts/build';
import { Manifest, readManifest, writeManifest } from '../../artifacts/manifest';
import { readSafetensors } from '../../artifacts/safetensors';
import { TOKENIZER_FILE } from '../../artifacts/tokenizer';
import { BatchLoader } from '../data/loader';
import { localRanks, ProcessGroup } from '../distributed/process-group';
import {
  describeEp,
  ExecutionProviderError,
  float16Problem,
  providerConfig,
  ResolvedEp,
  resolveExecutionProvider,
} from '../execution-providers';
import { classificationTask } from '../finetune/classification-task';
import { kernelTableWarning } from '../placement/audit';
import type { SessionConfig } from '../session';
import { measurePeakMatmul } from '../peak-flops';
import { SINGLE_PROCESS } from '../distributed/process-group';
import { CheckpointPolicy } from './checkpoint-policy';
import { RunReport } from './run-report';
import { AccumulatingStepEngine } from './accumulating-step-engine';
import { caePretrainingTask } from './cae-task';
import { readCheckpoint } from './checkpoint';
import { FusedStepEngine } from './fused-step-engine';
import type { RunOptions, TrainOptions } from './run-options';
import type { StepEngine, TrainingState } from './step-engine';
import { TRAIN_SESSION_DEFAULTS } from './step-session';
import type { TrainingTask } from './training-task';

export const BUILD = 'build';

/** Where a run starts: a new run's build and initial weights, or its newest checkpoint. */
export interface RunStart {
  readonly manifest: Manifest;
  readonly run: RunOptions;
  readonly step: number;
  readonly data: { readonly epoch: number; readonly position: number };
  readonly state: TrainingState;
  readonly elapsedSeconds: number;
}

/**
 * Copies the graphs a run uses (all but the deployment encoder, which has initial weights) and the
 * manifest into the run, so the run does not depend on the build folder.
 */
function adoptBuild(buildDir: string, runDir: string): void {
  const target = path.join(runDir, BUILD);
  if (path.resolve(buildDir) === path.resolve(target)) return;
  fs.mkdirSync(target, { recursive: true });
  const manifest = readManifest(buildDir);
  const used = Object.entries(manifest.graphs).filter(([role]) => role !== 'encoder');
  const files = [...used.map(([, g]) => g.file), ...(manifest.tokenizer ? [TOKENIZER_FILE] : [])];
  for (const f of files) {
    for (const file of [f, `${f}.data`]) {
      const src = path.join(buildDir, file);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(target, file));
    }
  }
  writeManifest(target, manifest);
}

/** Where the run starts; on a new run rank 0 copies the build into the run while the others wait. */
export function runStart(o: TrainOptions, group: ProcessGroup): RunStart {
  if (o.resume) {
    const ckpt = readCheckpoint<RunOptions>(o.runDir);
    return {
      manifest: ckpt.manifest,
      run: ckpt.state.options,
      step: ckpt.state.step,
      data: ckpt.state.data,
      state: { params: ckpt.params, optimizer: ckpt.optimizer },
      elapsedSeconds: ckpt.state.elapsedSeconds,
    };
  }
  const run = o.run!;
  if (group.rank === 0) adoptBuild(run.buildDir, o.runDir);
  group.barrier();
  const manifest = readManifest(path.join(o.runDir, BUILD));
  const names = new Set(manifest.params.map((p) => p.name));
  const params = readSafetensors(path.join(run.buildDir, PARAMS_FILE), {
    names: (n) => names.has(n),
  }).tensors;
  return {
    manifest,
    run,
    step: 0,
    data: { epoch: 0, position: 0 },
    state: { params, optimizer: new Map() },
    elapsedSeconds: 0,
  };
}

/**
 * The run's execution provider, started and checked against the build: fp16 needs f16 shaders on
 * WebGPU (refused otherwise); on CUDA/DirectML, compute nodes without kernels are warned about.
 */
export async function providerForRun(
  o: TrainOptions,
  manifest: Manifest,
  buildDir: string,
): Promise<ResolvedEp> {
  const ep = typeof o.ep === 'string' ? await resolveExecutionProvider(o.ep) : o.ep;
  if (typeof o.ep === 'string') o.say(describeEp(ep));
  const f16 = manifest.config.precision === 'fp16' ? await float16Problem(ep.name) : undefined;
  if (f16) throw new ExecutionProviderError(f16);
  const noKernels = kernelTableWarning(path.join(buildDir, manifest.graphs.train_step.file), ep.name);
  if (noKernels) o.say(noKernels);
  return ep;
}

/** Session options of the step graphs: ORT threads as the run says, else the cores split between local ranks. */
export function trainingSessionConfig(run: RunOptions, ep: ResolvedEp, group: ProcessGroup): SessionConfig {
  const threads =
    run.threads ?? (group.size > 1 ? Math.max(1, Math.floor(os.cpus().length / localRanks())) : undefined);
  return { ...TRAIN_SESSION_DEFAULTS, threads, executionProviders: providerConfig(ep.name) };
}

/** This rank's share of each update's micro-batches (all of them in one process). */
export function microBatchesPerRank(run: RunOptions, group: ProcessGroup): number {
  if (run.accumulate % group.size !== 0) {
    throw new Error(
      `the run takes ${run.accumulate} micro-batches per update, which ${group.size} ranks cannot share evenly: ` +
        'use a rank count that divides it (the global batch must stay the same)',
    );
  }
  return run.accumulate / group.size;
}

/** The run's task: CAE pretraining, or fine-tuning a classifier (a build with `task`). */
export function taskFor(
  manifest: Manifest,
  run: RunOptions,
  buildDir: string,
  session: SessionConfig,
): Promise<TrainingTask> {
  if (!manifest.task) {
    return caePretrainingTask(manifest, buildDir, { alignmentDropPath: run.alignmentDropPath, session });
  }
  if (!run.finetune) throw new Error(`${buildDir} is a fine-tuning build: run it with cae-onnx finetune`);
  return classificationTask(manifest, buildDir, { finetune: run.finetune, totalSteps: run.steps, session });
}

/** The run's batches, continuing at `start.data`. */
export function openLoader(
  o: TrainOptions,
  start: RunStart,
  task: TrainingTask,
  group: ProcessGroup,
): Promise<BatchLoader> {
  const { manifest, run } = start;
  const c = manifest.config;
  return BatchLoader.open({
    source: run.data,
    imageSize: c.imageSize,
    channels: c.inChans as 1 | 3,
    batchSize: c.batch,
    seed: run.seed,
    augment: run.augment,
    mean: [...manifest.normalization.mean],
    std: [...manifest.normalization.std],
    tokenizer: manifest.tokenizer && {
      size: manifest.tokenizer.inputSize,
      scale: manifest.tokenizer.scale,
      shift: manifest.tokenizer.shift,
    },
    ...task.loader,
    // In-memory digits need one worker, and a second only competes with ORT's threads (2 cores:
    // 1.008x vs 1.037x the bare step, bench/results/train-overhead.json). Folders are decode-bound.
    workers: o.workers ?? (run.data.kind === 'folder' ? undefined : 1),
    start: start.data,
    limit: run.limit,
    ...(group.size > 1
      ? { shard: { rank: group.rank, ranks: group.size, perRank: microBatchesPerRank(run, group) } }
      : {}),
  });
}

/** The fused train_step, or grad_step + host AdamW when accumulating micro-batches. */
export function stepEngineFor(
  start: RunStart,
  buildDir: string,
  task: TrainingTask,
  session: SessionConfig,
  group: ProcessGroup,
): Promise<StepEngine> {
  const { manifest, run, state } = start;
  if (manifest.config.precision === 'fp16' && (run.accumulate > 1 || group.size > 1)) {
    throw new Error(
      'fp16 builds train with the fused train_step only (--accumulate 1, one process): loss scaling lives in that graph',
    );
  }
  const graph = (role: 'train_step' | 'grad_step') => path.join(buildDir, manifest.graphs[role].file);
  if (run.accumulate === 1 && group.size === 1)
    return FusedStepEngine.create(manifest, graph('train_step'), state, task.terms, session);
  const perRank = microBatchesPerRank(run, group);
  return AccumulatingStepEngine.create(
    manifest,
    graph('grad_step'),
    state,
    task.terms,
    perRank,
    session,
    group,
  );
}

/** Everything a run needs before its first update, for the loop in trainer.ts. */
export async function prepareRun(o: TrainOptions) {
  fs.mkdirSync(o.runDir, { recursive: true });
  const group = o.group ?? SINGLE_PROCESS;
  // Rank 0 alone writes logs, metrics and checkpoints.
  const leader = group.rank === 0;
  const say = leader ? o.say : () => undefined;
  const start = runStart(o, group);
  const { manifest, run } = start;
  const buildDir = path.join(o.runDir, BUILD);
  const ep = await providerForRun({ ...o, say }, manifest, buildDir);
  const session = trainingSessionConfig(run, ep, group);
  const task = await taskFor(manifest, run, buildDir, session);
  const loader = await openLoader(o, start, task, group).catch(async (e: unknown) => {
    await task.release();
    throw e;
  });
  say(
    `data: ${loader.size} images, ${loader.batchesPerEpoch} batches of ${manifest.config.batch} per epoch` +
      (group.size > 1
        ? `; ${group.size} ranks, ${run.accumulate / group.size} micro-batches each per update`
        : ''),
  );
  const engine = await stepEngineFor(start, buildDir, task, session, group);
  // A software GPU runs the 1024^3 probe for half a minute; a smaller one measures it well enough.
  const peak = leader
    ? await measurePeakMatmul(session, ep.softwareDriver ? 256 : undefined).catch(() => undefined)
    : undefined;
  const report = new RunReport(o.runDir, manifest, task, {
    totalSteps: run.steps,
    imagesPerStep: manifest.config.batch * run.accumulate,
    logEvery: o.logEvery,
    peak,
    resumedAt: o.resume ? start.step : undefined,
    say,
    status: leader ? o.status : () => undefined,
    writes: leader,
  });
  const checkpoints = new CheckpointPolicy(o.runDir, manifest, run, engine, {
    startStep: start.step,
    elapsedSeconds: start.elapsedSeconds,
    beforeWrite: () => report.flush(),
    writes: leader,
  });
  return { group, leader, say, start, task, loader, engine, report, checkpoints };
}
