import * as fs from 'node:fs';
import * as path from 'node:path';
import { PARAMS_FILE } from '../../artifacts/build';
import { Manifest, readManifest, writeManifest } from '../../artifacts/manifest';
import { readSafetensors } from '../../artifacts/safetensors';
import { TOKENIZER_FILE } from '../../artifacts/tokenizer';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { gradOutputName, stateInputName } from '../../graph-builder/training/step-graphs';
import { BatchLoader, LoaderOptions } from '../data/loader';
import {
  describeEp,
  EpChoice,
  ExecutionProviderError,
  float16Problem,
  providerConfig,
  ResolvedEp,
  resolveExecutionProvider,
} from '../execution-providers';
import { measurePeakMatmul } from '../peak-flops';
import { kernelTableWarning } from '../placement/audit';
import { ModelSession, SessionConfig } from '../session';
import { readCheckpoint, TrainState, writeCheckpoint } from './checkpoint';
import { hostAdamWStep, HostParam } from './host-adamw';
import { classificationTask, FinetuneRunOptions } from '../finetune/classification-task';
import { caePretrainingTask } from './cae-task';
import { CURVE_FILE, renderCurves } from './loss-curve';
import { MetricsLog, readMetrics } from './metrics-log';
import { formatProgress } from './progress';
import { learningRate, LrSchedule } from './schedule';
import { StepSession, TRAIN_SESSION_DEFAULTS, stepScalars } from './step-session';
import { stepRng } from './step-inputs';

/** What a run is: saved in every checkpoint so that --resume continues the same run exactly. */
export interface RunOptions {
  /** Build folder whose graphs and initial weights the run uses (copied into <run>/build). */
  readonly buildDir: string;
  readonly data: LoaderOptions['source'];
  readonly steps: number;
  readonly schedule: LrSchedule;
  readonly seed: number;
  /** Micro-batches per update (>1: grad_step + host AdamW instead of the fused train_step). */
  readonly accumulate: number;
  readonly augment: LoaderOptions['augment'];
  /** Drop path stays on in the alignment pass, as in the reference. */
  readonly alignmentDropPath: boolean;
  readonly limit?: number;
  readonly checkpointEvery: number;
  readonly threads?: number;
  /** Fine-tuning builds: validation, mixup and random erasing. */
  readonly finetune?: FinetuneRunOptions;
}

export interface TrainOptions {
  readonly runDir: string;
  /** Options of a new run; omitted when resuming (they come from the checkpoint). */
  readonly run?: RunOptions;
  readonly resume?: boolean;
  /** The provider, or a choice to resolve here (the CLI resolves first, to name it in its first line). */
  readonly ep: EpChoice | ResolvedEp;
  readonly workers?: number;
  readonly logEvery: number;
  /** Stop after this many steps of this invocation (tests, time-boxed runs); a checkpoint is written. */
  readonly stopAfter?: number;
  readonly say: (line: string) => void;
  readonly status: (line: string) => void;
}

export interface TrainResult {
  readonly lastStep: number;
  readonly losses: number[];
  readonly checkpoint?: string;
  readonly interrupted: boolean;
  readonly skippedImages: number;
}

/** A non-finite loss: the run stops and the last good checkpoint stays. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

const BUILD = 'build';

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

interface Start {
  manifest: Manifest;
  run: RunOptions;
  step: number;
  data: { epoch: number; position: number };
  params: Map<string, TensorData>;
  optimizer: Map<string, TensorData>;
  elapsed: number;
}

function startOf(o: TrainOptions): Start {
  if (o.resume) {
    const ckpt = readCheckpoint<RunOptions>(o.runDir);
    const run = ckpt.state.options;
    return {
      manifest: ckpt.manifest,
      run,
      step: ckpt.state.step,
      data: ckpt.state.data,
      params: ckpt.params,
      optimizer: ckpt.optimizer,
      elapsed: ckpt.state.elapsedSeconds,
    };
  }
  const run = o.run!;
  adoptBuild(run.buildDir, o.runDir);
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
    params,
    optimizer: new Map(),
    elapsed: 0,
  };
}

/**
 * The run's execution provider, started and checked against the build: fp16 needs f16 shaders on
 * WebGPU (refused otherwise); on CUDA/DirectML, compute nodes without kernels are warned about.
 */
async function providerForRun(o: TrainOptions, manifest: Manifest, trainStep: string): Promise<ResolvedEp> {
  const ep = typeof o.ep === 'string' ? await resolveExecutionProvider(o.ep) : o.ep;
  if (typeof o.ep === 'string') o.say(describeEp(ep));
  const f16 = manifest.config.precision === 'fp16' ? await float16Problem(ep.name) : undefined;
  if (f16) throw new ExecutionProviderError(f16);
  const noKernels = kernelTableWarning(trainStep, ep.name);
  if (noKernels) o.say(noKernels);
  return ep;
}

/** The run's task: CAE pretraining, or fine-tuning a classifier (a build with `task`). */
function taskFor(manifest: Manifest, run: RunOptions, buildDir: string, session: SessionConfig) {
  if (!manifest.task) {
    return caePretrainingTask(manifest, buildDir, { alignmentDropPath: run.alignmentDropPath, session });
  }
  if (!run.finetune) throw new Error(`${buildDir} is a fine-tuning build: run it with cae-onnx finetune`);
  return classificationTask(manifest, buildDir, { finetune: run.finetune, totalSteps: run.steps, session });
}

/**
 * The training loop: data on worker threads, the task's inputs (masks and drop path, or mixup) drawn
 * per step from (seed, step), the fused train_step (or grad_step + host AdamW when accumulating), a
 * status line and metrics.jsonl, the task's evaluations, atomic checkpoints every N steps, on
 * SIGINT/SIGTERM and at the end, a curve PNG.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  fs.mkdirSync(o.runDir, { recursive: true });
  const s = startOf(o);
  const { manifest, run } = s;
  const c = manifest.config;
  const buildDir = path.join(o.runDir, BUILD);
  if (c.precision === 'fp16' && run.accumulate > 1) {
    throw new Error(
      'fp16 builds train with the fused train_step only (--accumulate 1): loss scaling lives in that graph',
    );
  }
  const ep = await providerForRun(o, manifest, path.join(buildDir, 'train_step.onnx'));
  const sessionConfig: SessionConfig = {
    ...TRAIN_SESSION_DEFAULTS,
    threads: run.threads,
    executionProviders: providerConfig(ep.name),
  };
  const task = await taskFor(manifest, run, buildDir, sessionConfig);

  const loader = await BatchLoader.open({
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
    // In-memory digits need one worker; more only compete with ORT's threads (1.8x slower steps
    // with 2 workers on 2 cores, bench/train-overhead.ts). Image folders are decode-bound.
    workers: o.workers ?? (run.data.kind === 'folder' ? undefined : 1),
    start: s.data,
    limit: run.limit,
  }).catch(async (e: unknown) => {
    await task.release();
    throw e;
  });
  o.say(`data: ${loader.size} images, ${loader.batchesPerEpoch} batches of ${c.batch} per epoch`);

  const initial = new Map<string, TensorData>([...s.params, ...s.optimizer]);
  const fused = run.accumulate <= 1;
  const stepSession = fused
    ? // On WebGPU, parameters and AdamW state stay on the GPU between steps; checkpoints download them.
      await StepSession.create(path.join(buildDir, 'train_step.onnx'), initial, sessionConfig)
    : undefined;
  const gradSession = fused
    ? undefined
    : await ModelSession.create(path.join(buildDir, 'grad_step.onnx'), sessionConfig);
  const host: HostParam[] = fused ? [] : hostParams(manifest, initial);
  // A software GPU runs the 1024^3 probe for half a minute; a smaller one measures it well enough.
  const peak = await measurePeakMatmul(sessionConfig, ep.softwareDriver ? 256 : undefined).catch(
    () => undefined,
  );
  const flopsPerStep = manifest.graphs.train_step.matmulFlops * run.accumulate;

  const metrics = new MetricsLog(path.join(o.runDir, 'metrics.jsonl'), o.resume ? s.step : undefined);
  let stop: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop) process.exit(signal === 'SIGINT' ? 130 : 143); // a second signal: leave now, checkpoints are atomic
    stop = signal;
    o.say(`\n${signal}: finishing this step and writing a checkpoint (again to quit at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const losses: number[] = [];
  let step = s.step;
  let data = s.data;
  let lastCheckpoint: string | undefined;
  let lastLoss: number | undefined;
  const started = performance.now();
  let windowStart = performance.now();
  let windowSteps = 0;
  /** The latest evaluation, shown on the status line. */
  let note: string | undefined;
  /** Parameters and optimizer state on the host, split as the checkpoint stores them. */
  const snapshot = async (): Promise<[Map<string, TensorData>, Map<string, TensorData>]> => {
    const names = new Set(manifest.params.map((p) => p.name));
    if (fused) {
      const all = await stepSession!.snapshot();
      const params = new Map(manifest.params.map((p) => [p.name, all.get(p.name)!]));
      return [params, new Map([...all].filter(([k]) => !names.has(k)))];
    }
    const tensor = (name: string, data: Float32Array) => tensorData('float32', shapeOf(manifest, name), data);
    const params = new Map(manifest.params.map((p) => [p.name, s.params.get(p.name)!]));
    for (const h of host) params.set(h.name, tensor(h.name, h.value));
    const optimizer = new Map(
      host.flatMap((h) => [
        [stateInputName('exp_avg', h.name), tensor(h.name, h.expAvg)],
        [stateInputName('exp_avg_sq', h.name), tensor(h.name, h.expAvgSq)],
      ]),
    );
    return [params, optimizer];
  };
  const save = async () => {
    metrics.flush();
    const state: TrainState<RunOptions> = {
      step,
      data,
      seed: run.seed,
      totalSteps: run.steps,
      options: run,
      elapsedSeconds: s.elapsed + (performance.now() - started) / 1000,
      lastLoss,
    };
    const [params, optimizer] = await snapshot();
    lastCheckpoint = writeCheckpoint(o.runDir, manifest, params, optimizer, state);
  };

  try {
    while (step < run.steps && !stop && (o.stopAfter === undefined || step - s.step < o.stopAfter)) {
      const next = step + 1;
      const lr = learningRate(run.schedule, next);
      const rng = stepRng(run.seed, next);
      const t0 = performance.now();
      let loss: number;
      const terms: Record<string, number> = {};
      let gradNorm: number;
      let lossScale: number | undefined;
      let epoch = data.epoch;
      /** The next batch's feeds; moves the data position. */
      const nextFeeds = async () => {
        const batch = await loader.next();
        epoch = batch.epoch;
        data = batch.next;
        return task.feeds(batch, rng);
      };
      if (fused) {
        const feeds = await nextFeeds();
        const out = await stepSession!.run({ ...feeds, ...stepScalars(lr, next) });
        loss = num(out.loss);
        for (const t of task.terms) terms[t] = num(out[t]);
        gradNorm = num(out.grad_norm);
        lossScale = out.loss_scale ? num(out.loss_scale) : undefined;
      } else {
        for (const h of host) h.grad.fill(0);
        loss = 0;
        for (const t of task.terms) terms[t] = 0;
        const paramFeeds = Object.fromEntries(
          host.map((h) => [h.name, tensorData('float32', shapeOf(manifest, h.name), h.value)]),
        );
        for (let k = 0; k < run.accumulate; k++) {
          const feeds = await nextFeeds();
          const out = await gradSession!.run({ ...feeds, ...paramFeeds });
          for (const h of host) {
            const g = out[gradOutputName(h.name)].data as Float32Array;
            for (let i = 0; i < g.length; i++) h.grad[i] += g[i] / run.accumulate;
          }
          loss += num(out.loss) / run.accumulate;
          for (const t of task.terms) terms[t] += num(out[t]) / run.accumulate;
        }
        if (!Number.isFinite(loss)) throw nonFinite(next, lr, lastCheckpoint);
        gradNorm = hostAdamWStep(host, manifest.optimizer, lr, next);
      }
      if (!Number.isFinite(loss)) throw nonFinite(next, lr, lastCheckpoint);
      step = next;
      lastLoss = loss;
      losses.push(loss);
      const seconds = (performance.now() - t0) / 1000;
      const evaluation = await task.evaluate?.(step, async () => (await snapshot())[0]);
      if (evaluation) {
        o.say(task.describe?.(step, evaluation) ?? JSON.stringify(evaluation));
        note = task.summarize?.(evaluation);
      }
      metrics.add({
        step,
        epoch,
        loss,
        ...terms,
        grad_norm: gradNorm,
        ...(lossScale !== undefined ? { loss_scale: lossScale } : {}),
        lr,
        step_seconds: seconds,
        images_per_second: (c.batch * run.accumulate) / seconds,
        time: new Date().toISOString(),
        ...evaluation,
      });
      windowSteps++;
      if (step % o.logEvery === 0 || step === run.steps) {
        const perStep = (performance.now() - windowStart) / 1000 / windowSteps;
        const gflops = flopsPerStep / perStep / 1e9;
        o.status(
          formatProgress({
            step,
            total: run.steps,
            loss,
            terms,
            lr,
            secondsPerStep: perStep,
            imagesPerSecond: (c.batch * run.accumulate) / perStep,
            gflops,
            mfu: peak ? gflops / peak : undefined,
            etaSeconds: perStep * (run.steps - step),
            note,
          }),
        );
        metrics.flush();
        windowStart = performance.now();
        windowSteps = 0;
      }
      if (step % run.checkpointEvery === 0) await save();
    }
    if (lastCheckpoint === undefined || !lastCheckpoint.endsWith(String(step).padStart(8, '0'))) {
      if (step > s.step) await save();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    metrics.flush();
    await loader.close();
    await stepSession?.release();
    await gradSession?.release();
    await task.release();
  }
  await renderCurves(readMetrics(metrics.file), task.curves, path.join(o.runDir, CURVE_FILE));
  const stats = loader.stats();
  if (stats.skipped > 0) {
    o.say(
      `skipped ${stats.skipped} unreadable images: ${stats.skippedFiles.slice(0, 5).join(', ')}${stats.skipped > 5 ? ', ...' : ''}`,
    );
  }
  return {
    lastStep: step,
    losses,
    checkpoint: lastCheckpoint,
    interrupted: stop !== undefined,
    skippedImages: stats.skipped,
  };
}

const num = (t: TensorData) => Number(t.data[0]);

function shapeOf(manifest: Manifest, name: string): number[] {
  return manifest.params.find((p) => p.name === name)!.shape as number[];
}

function nonFinite(step: number, lr: number, checkpoint: string | undefined): NonFiniteLossError {
  return new NonFiniteLossError(
    `the loss became non-finite at step ${step} (lr ${lr.toExponential(2)}); stopping. ` +
      (checkpoint ? `The last good checkpoint is ${checkpoint}.` : 'No checkpoint was written yet.') +
      ' Try a lower --lr or a longer warmup.',
  );
}

/** Host copies of parameters and AdamW state for gradient accumulation. */
function hostParams(manifest: Manifest, initial: ReadonlyMap<string, TensorData>): HostParam[] {
  return manifest.params
    .filter((p) => p.trainable)
    .map((p) => {
      const n = (p.shape as number[]).reduce((a, b) => a * b, 1);
      const state = (slot: string) =>
        Float32Array.from(
          (initial.get(stateInputName(slot, p.name))?.data as Float32Array | undefined) ??
            new Float32Array(n),
        );
      return {
        name: p.name,
        value: Float32Array.from(initial.get(p.name)!.data as Float32Array),
        grad: new Float32Array(n),
        expAvg: state('exp_avg'),
        expAvgSq: state('exp_avg_sq'),
        weightDecay: p.weightDecay,
        lrScale: p.lrScale ?? 1,
      };
    });
}
