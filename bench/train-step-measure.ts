/** One preset's measurement for bench/train-step.ts (run in its own process so peak RSS is its own). */
import * as os from 'node:os';
import * as path from 'node:path';
import { initializeParams } from '../src/artifacts/initialize-params';
import { Precision, resolveConfig } from '../src/graph-builder/cae/config';
import { caePretrainModel, CAE_INPUTS } from '../src/graph-builder/cae/model';
import { matmulFlops } from '../src/graph-builder/analysis/flops';
import type { Graph } from '../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../src/graph-builder/core/tensor-data';
import { toModelProto } from '../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../src/graph-builder/optim/adamw';
import { buildEvalStep, buildTrainStep } from '../src/graph-builder/training/step-graphs';
import { Rng } from '../src/random/rng';
import { EpName, providerConfig } from '../src/runtime/execution-providers';
import { makeMaskBatch } from '../src/runtime/masking';
import { measurePeakMatmul } from '../src/runtime/peak-flops';
import { ModelSession, SessionConfig } from '../src/runtime/session';
import { dropPathKeep } from '../src/runtime/train/drop-path';
import { StepSession, stepScalars } from '../src/runtime/train/step-session';
import { summarize } from './profile-summary';
import type { PresetResult } from './train-step';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const seconds = (t: number) => (performance.now() - t) / 1000;
const MIN_TIMED_SECONDS = 5;

/** Random images, exact-count block masks, random token targets and drop-path decisions. */
export function randomFeeds(c: ReturnType<typeof resolveConfig>, rng: Rng): Record<string, TensorData> {
  const b = c.batch;
  const side = c.imageSize / c.patchSize;
  const masks = makeMaskBatch(rng, {
    batch: b,
    grid: { height: side, width: side },
    numMasked: c.numMasked,
    kind: c.maskKind,
  });
  const n = b * c.inChans * c.imageSize * c.imageSize;
  const feeds: Record<string, TensorData> = {
    [CAE_INPUTS.images]: tensorData(
      'float32',
      [b, c.inChans, c.imageSize, c.imageSize],
      Float32Array.from({ length: n }, () => rng.normal()),
    ),
    [CAE_INPUTS.visibleIndex]: tensorData('int64', [b, masks.numVisible], masks.visibleIndex),
    [CAE_INPUTS.maskedIndex]: tensorData('int64', [b, masks.numMasked], masks.maskedIndex),
  };
  if (c.target === 'tokens') {
    feeds[CAE_INPUTS.targetTokens] = tensorData(
      'int64',
      [b, c.numMasked],
      BigInt64Array.from({ length: b * c.numMasked }, () => BigInt(rng.int(0, c.vocabSize - 1))),
    );
  }
  if (c.dropPathRate > 0) {
    feeds[CAE_INPUTS.keepEncoder] = dropPathKeep(rng, c.depth, b, c.dropPathRate);
    feeds[CAE_INPUTS.keepRegressor] = dropPathKeep(rng, c.regressorDepth, b, c.dropPathRate);
    feeds[CAE_INPUTS.keepDecoder] = dropPathKeep(rng, c.decoderDepth, b, c.dropPathRate);
    feeds[CAE_INPUTS.keepAlignment] = dropPathKeep(rng, c.depth, b, c.dropPathRate);
  }
  return feeds;
}

const graphNodes = (g: Graph) => g.nodes.length;

export async function measurePreset(
  preset: string,
  batch: number,
  o: {
    threads: number;
    steps: number;
    ep: string;
    precision: string;
    profile: boolean;
    session: Pick<SessionConfig, 'graphOptimizationLevel' | 'memoryArena' | 'memoryPattern'>;
  },
): Promise<PresetResult> {
  const c = resolveConfig(preset, { batch, precision: o.precision as Precision });
  const config: SessionConfig = {
    threads: o.threads,
    executionProviders: providerConfig(o.ep as EpName),
    ...o.session,
  };
  // The peak is probed before, between and after the timed steps and the best reading kept: on a
  // shared VM a single probe can land in a slow moment and make MFU look too high.
  const peaks = [await measurePeakMatmul(config, 1024, 5)];

  const model = caePretrainModel(c);
  const train = buildTrainStep(model, {
    optimizer: adamw(),
    clipGradNorm: 3,
    lossScaling: c.precision === 'fp16',
  });
  const evalGraph = buildEvalStep(model);
  const trainable = train.params.filter((p) => p.trainable);
  const params = initializeParams(train.params, 0);
  const feeds = randomFeeds(c, new Rng(1));

  let t = performance.now();
  const trainProfile = o.profile ? path.join(os.tmpdir(), `train-step-${preset}`) : undefined;
  // On WebGPU, parameters and optimizer state stay on the GPU between steps, as the trainer runs it.
  const session = await StepSession.create(
    toModelProto(train, { paramsAs: 'inputs' }),
    params,
    { ...config, enableProfiling: o.profile, profilePrefix: trainProfile },
    { deviceState: o.ep === 'webgpu' },
  );
  const trainCreate = seconds(t);
  // At least o.steps timed steps and at least MIN_TIMED_SECONDS of them (medians over a few short
  // steps swing with this VM's neighbours).
  const times: number[] = [];
  for (let i = 1; i <= o.steps + 2 || times.reduce((a, b) => a + b, 0) < MIN_TIMED_SECONDS; i++) {
    t = performance.now();
    await session.run({ ...feeds, ...stepScalars(1e-4, i) });
    if (i > 2) times.push(seconds(t));
    if (!o.profile) peaks.push(await measurePeakMatmul(config, 1024, 2));
  }
  // The profile covers the timed steps: the two untimed ones are its warm-up.
  if (o.profile)
    console.error(`train_step profile (${preset}):\n${summarize(session.endProfiling(), 25, 2)}`);
  await session.release();
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;

  t = performance.now();
  const forward = await ModelSession.create(toModelProto(evalGraph, { paramsAs: 'inputs' }), config);
  const evalCreate = seconds(t);
  const forwardFeeds = { ...feeds, ...Object.fromEntries(params) };
  const forwardTimes: number[] = [];
  for (let i = 1; i <= o.steps + 2 || forwardTimes.reduce((a, b) => a + b, 0) < MIN_TIMED_SECONDS; i++) {
    t = performance.now();
    await forward.run(forwardFeeds, ['loss']);
    if (i > 2) forwardTimes.push(seconds(t));
  }
  await forward.release();

  peaks.push(await measurePeakMatmul(config, 1024, 5));
  const peak = Math.max(...peaks);
  const step = median(times);
  const fwd = median(forwardTimes);
  const trainFlops = matmulFlops(train);
  const achieved = trainFlops / step / 1e9;
  return {
    preset,
    batch: c.batch,
    threads: o.threads,
    ep: o.ep,
    precision: o.precision,
    sessionOptions: o.session,
    params: trainable.reduce((s, p) => s + p.tensor.shape.reduce<number>((a, d) => a * Number(d), 1), 0),
    graphNodes: graphNodes(train),
    trainFlopsPerImage: trainFlops / c.batch,
    forwardFlopsPerImage: matmulFlops(evalGraph) / c.batch,
    timedSteps: times.length,
    secondsPerStep: step,
    imagesPerSecond: c.batch / step,
    achievedGflops: achieved,
    peakMatmulGflops: peak,
    mfu: achieved / peak,
    forwardSecondsPerStep: fwd,
    backwardUpdateOverForward: (step - fwd) / fwd,
    sessionCreateSeconds: { trainStep: trainCreate, evalStep: evalCreate },
    peakRssMiB,
  };
}
