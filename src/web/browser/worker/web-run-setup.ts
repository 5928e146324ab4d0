import { planBuild, TRAINING_OPTIMIZER } from '../../../artifacts/build-plan';
import { resolveConfig } from '../../../graph-builder/cae/config';
import { CAE_LOSS_TERMS } from '../../../graph-builder/cae/model';
import { sizeOf } from '../../../graph-builder/core/tensor-data';
import type { LoaderSource } from '../../../runtime/data/types';
import { pretrainingRunOptionsFor } from '../../../runtime/train/recipe';
import type { PageRequest, TrainingData, WorkerMessage } from '../protocol';
import { ChosenBackend, chooseBackend } from './ort-web';
import { buildFolderFiles, readPickedFolder, WebRun } from './run-folder';
import { folderSource, mnistSource, SampleSource, WebBatches } from './web-data';
import { WebStepSession } from './web-step-session';

/**
 * Everything a run in the tab needs before its first step (as run-setup.ts for the CLI): the
 * backend, the run (a new build, or a picked run or build folder), its data, and the train_step
 * session with the run's weights.
 */

export type StartRequest = Extract<PageRequest, { type: 'start' }>;

export interface TrainingSetup {
  readonly run: WebRun;
  readonly session: WebStepSession;
  readonly batches: WebBatches;
  /** The reconstruction figure's images [figureCount, C, S, S], normalized, no augmentation. */
  readonly figureImages: Float32Array;
  readonly figureCount: number;
  readonly reconstructEvery: number;
}

/** Images in the reconstruction figure. */
const FIGURE_IMAGES = 8;

/** The run this tab starts: a new one from a preset, or a picked run or build folder. */
async function openRun(
  request: StartRequest,
  data: LoaderSource,
  say: (line: string) => void,
): Promise<WebRun> {
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

/** Everything before the first step; tells the page the backend and the run as soon as they are known. */
export async function prepareTraining(
  request: StartRequest,
  post: (message: WorkerMessage) => void,
): Promise<TrainingSetup> {
  const say = (line: string) => post({ type: 'log', line });
  const backend: ChosenBackend = await chooseBackend(request.backend);
  post({ type: 'backend', backend: backend.name, description: backend.description });
  const run = await openRun(request, recordedData(request.data), say);
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
  return {
    run,
    session,
    batches,
    figureImages: figureBatch.images,
    figureCount: count,
    reconstructEvery: request.reconstructEvery,
  };
}
