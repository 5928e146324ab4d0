import { planBuild, TRAINING_OPTIMIZER } from '../../../artifacts/build-plan';
import { resolveConfig } from '../../../graph-builder/cae/config';
import { CAE_LOSS_TERMS } from '../../../graph-builder/cae/model';
import { sizeOf } from '../../../graph-builder/core/tensor-data';
import type { LoaderSource } from '../../../runtime/data/types';
import { pretrainingRunOptionsFor } from '../../../runtime/train/recipe';
import { learningRate } from '../../../runtime/train/schedule';
import { scalar } from '../../../runtime/train/step-engine';
import { microBatchRng, stepInputs } from '../../../runtime/train/step-inputs';
import type { StepMetrics } from '../../../runtime/train/step-metrics';
import { stepScalars } from '../../../runtime/train/step-scalars';
import type { PageRequest, TrainingData, WorkerMessage } from '../protocol';
import { ChosenBackend, chooseBackend } from './ort-web';
import { Figure, reconstructionFigure } from './reconstruction';
import { buildFolderFiles, encoderModel, readPickedFolder, runFolderZip, WebRun } from './run-folder';
import { folderSource, mnistSource, SampleSource, WebBatches } from './web-data';
import { WebStepSession } from './web-step-session';

/**
 * The page's training worker: the training loop of trainer.ts on onnxruntime-web, off the page's
 * thread so that the page stays responsive. One run at a time; steps, snapshots for downloads and
 * reconstruction figures take turns.
 */

type StartRequest = Extract<PageRequest, { type: 'start' }>;

const scope = self as DedicatedWorkerGlobalScope;
const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);
const say = (line: string) => post({ type: 'log', line });

/** Images in the reconstruction figure. */
const FIGURE_IMAGES = 8;

/** The run this tab starts: a new one from a preset, or a picked run or build folder. */
async function openRun(request: StartRequest, data: LoaderSource): Promise<WebRun> {
  const r = request.run;
  if (r.kind === 'new') {
    const config = resolveConfig(r.preset, r.batch ? { batch: r.batch } : {});
    const seed = r.seed ?? 0;
    say(`building ${r.preset} (batch ${config.batch}) in the browser`);
    const t0 = performance.now();
    const plan = planBuild({ config, seed, optimizer: TRAINING_OPTIMIZER });
    say(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const options = pretrainingRunOptionsFor(config, {
      buildDir: 'build',
      data,
      steps: r.steps,
      seed,
      lr: r.lr,
      limit: r.limit,
    });
    return {
      name: `web-${r.preset}`,
      manifest: plan.manifest,
      buildFiles: buildFolderFiles(plan.manifest, plan.models),
      options,
      start: { step: 0, data: { epoch: 0, position: 0 }, elapsedSeconds: 0 },
      params: plan.params,
      optimizer: new Map(),
      history: [],
    };
  }
  const picked = await readPickedFolder(r.name, r.files);
  if (picked.checkpoint) {
    const { state, optimizer } = picked.checkpoint;
    say(`continuing ${r.name} from step ${state.step} of ${state.options.steps}`);
    return {
      name: r.name,
      manifest: picked.manifest,
      buildFiles: picked.buildFiles,
      options: state.options,
      start: { step: state.step, data: state.data, elapsedSeconds: state.elapsedSeconds },
      params: picked.params,
      optimizer,
      history: picked.history,
    };
  }
  say(`starting a run from the build ${r.name}`);
  return {
    name: `${r.name}-run`,
    manifest: picked.manifest,
    buildFiles: picked.buildFiles,
    options: pretrainingRunOptionsFor(picked.manifest.config, { buildDir: 'build', data, ...r.settings }),
    start: { step: 0, data: { epoch: 0, position: 0 }, elapsedSeconds: 0 },
    params: picked.params,
    optimizer: new Map(),
    history: [],
  };
}

/** The data the run trains on: MNIST, or the picked folder (a continued run keeps its own data kind). */
function recordedData(data: TrainingData): LoaderSource {
  return data.kind === 'mnist' ? { kind: 'mnist', split: 'train' } : { kind: 'folder', dir: data.name };
}

async function openData(
  run: WebRun,
  data: TrainingData,
): Promise<{ train: SampleSource; figure: SampleSource }> {
  const source = run.options.data;
  const channels = run.manifest.config.inChans as 1 | 3;
  if (source.kind === 'mnist') {
    const [train, figure] = await Promise.all([
      mnistSource(source.split, run.options.limit),
      mnistSource('test'),
    ]);
    return { train, figure };
  }
  if (source.kind === 'folder') {
    if (data.kind !== 'folder')
      throw new Error(`${run.name} trains on the image folder ${source.dir}: pick that folder as the data`);
    const train = folderSource(data.name, data.files, channels, run.options.limit);
    return { train, figure: train };
  }
  throw new Error(`${run.name} trains on IDX files (${source.images}): continue it in the CLI`);
}

class Training {
  private stopRequested = false;
  /** Why the weights can no longer be handed out (a non-finite loss has already updated them). */
  private diverged?: string;
  private turn: Promise<unknown> = Promise.resolve();
  private step: number;
  private data: { epoch: number; position: number };
  private elapsedSeconds: number;
  private readonly metrics: StepMetrics[];

  private constructor(
    private readonly run: WebRun,
    private readonly session: WebStepSession,
    private readonly batches: WebBatches,
    private readonly figureImages: Float32Array,
    private readonly reconstructEvery: number,
  ) {
    this.step = run.start.step;
    this.data = run.start.data;
    this.elapsedSeconds = run.start.elapsedSeconds;
    this.metrics = [...run.history];
  }

  static async start(request: StartRequest): Promise<Training> {
    const backend: ChosenBackend = await chooseBackend(request.backend);
    post({ type: 'backend', backend: backend.name, description: backend.description });
    const run = await openRun(request, recordedData(request.data));
    const { manifest, options } = run;
    const c = manifest.config;
    const { train, figure } = await openData(run, request.data);
    const spec = {
      imageSize: c.imageSize,
      channels: c.inChans as 1 | 3,
      seed: options.seed,
      augment: options.augment,
      mean: manifest.normalization.mean,
      std: manifest.normalization.std,
    };
    const batches = new WebBatches(train, { ...spec, batchSize: c.batch }, run.start.data);
    const count = Math.min(FIGURE_IMAGES, figure.size);
    const figureBatch = await new WebBatches(
      figure,
      { ...spec, augment: false, seed: 0, batchSize: count },
      { epoch: 0, position: 0 },
    ).next();
    const trainStep = run.buildFiles.get(manifest.graphs.train_step.file)!;
    say(`creating the ${backend.name} session`);
    const session = await WebStepSession.create(
      trainStep,
      manifest.graphs.train_step,
      new Map([...run.params, ...run.optimizer]),
      backend.name,
    );
    const parameters = manifest.params.reduce((s, p) => s + sizeOf(p.shape.map(Number)), 0);
    post({
      type: 'started',
      run: {
        name: run.name,
        preset: c.preset,
        parameters,
        batch: c.batch,
        steps: options.steps,
        startStep: run.start.step,
        data: train.description,
        terms: CAE_LOSS_TERMS,
      },
      history: run.history,
    });
    return new Training(run, session, batches, figureBatch.images, request.reconstructEvery);
  }

  /** Runs `work` after everything queued before it (steps, snapshots, figures never overlap). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  stop(): void {
    this.stopRequested = true;
  }

  async loop(): Promise<void> {
    const total = this.run.options.steps;
    try {
      while (this.step < total && !this.stopRequested) {
        await this.exclusive(() => this.oneStep());
        if (this.reconstructEvery > 0 && this.step % this.reconstructEvery === 0) await this.postFigure();
        // let 'stop' and 'download' messages in between steps
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (this.step % this.reconstructEvery !== 0) await this.postFigure();
      post({ type: 'ended', reason: this.step >= total ? 'finished' : 'stopped', step: this.step });
    } catch (e) {
      post({ type: 'error', message: (e as Error).message });
      post({ type: 'ended', reason: 'stopped', step: this.step });
    }
  }

  private async oneStep(): Promise<void> {
    const { manifest, options } = this.run;
    const next = this.step + 1;
    const lr = learningRate(options.schedule, next);
    const t0 = performance.now();
    const batch = await this.batches.next();
    if (batch.skipped > 0)
      say(`skipped ${batch.skipped} undecodable image(s); the next ones in the order took their place`);
    const feeds = await stepInputs(manifest, batch, microBatchRng(options.seed, next, 0), {
      alignmentDropPath: options.alignmentDropPath,
    });
    const out = await this.session.run({ ...feeds, ...stepScalars(lr, next) });
    const loss = scalar(out.loss);
    if (!Number.isFinite(loss)) {
      this.diverged = `the loss became non-finite at step ${next} (lr ${lr.toExponential(2)})`;
      throw new Error(
        `${this.diverged}: try a lower lr or a longer warmup; a checkpoint downloaded before it is the last good state`,
      );
    }
    const seconds = (performance.now() - t0) / 1000;
    this.step = next;
    this.data = batch.next;
    this.elapsedSeconds += seconds;
    const metrics: StepMetrics = {
      step: next,
      epoch: batch.epoch,
      loss,
      ...Object.fromEntries(CAE_LOSS_TERMS.map((t) => [t, scalar(out[t])])),
      grad_norm: scalar(out.grad_norm),
      lr,
      step_seconds: seconds,
      images_per_second: manifest.config.batch / seconds,
      time: new Date().toISOString(),
    };
    this.metrics.push(metrics);
    post({ type: 'step', metrics });
  }

  private async postFigure(): Promise<void> {
    const figure: Figure = await this.exclusive(async () => {
      const state = await this.session.snapshot(this.run.manifest.params.map((p) => p.name));
      return reconstructionFigure(
        this.run.manifest,
        state,
        this.figureImages,
        this.figureImages.length /
          (this.run.manifest.config.inChans * this.run.manifest.config.imageSize ** 2),
      );
    });
    post({ type: 'reconstruction', step: this.step, ...figure }, [figure.rgb.buffer]);
  }

  async release(): Promise<void> {
    this.stop();
    await this.exclusive(() => this.session.release());
  }

  /** The run folder (zip) or the encoder at the current step. */
  download(what: 'checkpoint' | 'encoder'): Promise<{ name: string; bytes: Uint8Array; mime: string }> {
    return this.exclusive(async () => {
      if (this.diverged) throw new Error(`nothing to download: ${this.diverged}`);
      const all = await this.session.snapshot();
      const names = new Set(this.run.manifest.params.map((p) => p.name));
      const params = new Map([...all].filter(([k]) => names.has(k)));
      if (what === 'encoder') {
        const bytes = encoderModel(this.run.manifest, params, { run: this.run.name, step: this.step });
        return {
          name: `${this.run.name}-step${this.step}-encoder.onnx`,
          bytes,
          mime: 'application/octet-stream',
        };
      }
      const optimizer = new Map([...all].filter(([k]) => !names.has(k)));
      const bytes = runFolderZip(
        this.run,
        params,
        optimizer,
        {
          step: this.step,
          data: this.data,
          seed: this.run.options.seed,
          totalSteps: this.run.options.steps,
          options: this.run.options,
          elapsedSeconds: this.elapsedSeconds,
          lastLoss: this.metrics.at(-1)?.loss,
        },
        this.metrics,
      );
      return { name: `${this.run.name}.zip`, bytes, mime: 'application/zip' };
    });
  }
}

let training: Training | undefined;
let running = false;

async function handle(request: PageRequest): Promise<void> {
  if (request.type === 'start') {
    if (running) throw new Error('a run is already in progress');
    running = true;
    try {
      await training?.release();
      training = await Training.start(request);
    } catch (e) {
      running = false;
      throw e;
    }
    void training.loop().finally(() => (running = false));
    return;
  }
  if (!training) throw new Error('no run yet: start one first');
  if (request.type === 'stop') return training.stop();
  const file = await training.download(request.what);
  post({ type: 'file', ...file }, [file.bytes.buffer]);
}

scope.onmessage = (event: MessageEvent<PageRequest>) => {
  handle(event.data).catch((e: unknown) =>
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
};
