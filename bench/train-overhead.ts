/**
 * Is the data pipeline ever the bottleneck? Seconds per step of the bare train_step (one fixed batch
 * fed again and again, no data loading) against the full trainer (MNIST, or a folder of images,
 * through worker threads, augmentation, masks, metrics), on the same build, same threads, in one run.
 *
 *   npm run bench:build && node dist-bench/bench/train-overhead.js [--preset cae-tiny-28] [--batch 64] [--steps 40] [--workers N] [--data IMAGE_DIR]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildArtifacts, PARAMS_FILE } from '../src/artifacts/build';
import { readManifest } from '../src/artifacts/manifest';
import { readSafetensors } from '../src/artifacts/safetensors';
import { resolveConfig } from '../src/graph-builder/cae/config';
import { ADAMW_DEFAULTS } from '../src/graph-builder/optim/adamw';
import { Rng } from '../src/random/rng';
import { StepSession, stepScalars } from '../src/runtime/train/step-session';
import { stepInputs } from '../src/runtime/train/step-inputs';
import { defaultAugment } from '../src/runtime/data/augment-defaults';
import type { LoaderSource } from '../src/runtime/data/types';
import { readMetrics } from '../src/runtime/train/metrics-log';
import { train } from '../src/runtime/train/trainer';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main() {
  const argv = process.argv.slice(2);
  const arg = (f: string, d: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
  const preset = arg('--preset', 'cae-tiny-28');
  const steps = Number(arg('--steps', '40'));
  const data: LoaderSource = argv.includes('--data')
    ? { kind: 'folder', dir: arg('--data', '') }
    : { kind: 'mnist', split: 'train' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-overhead-'));
  const build = path.join(dir, 'build');
  buildArtifacts({
    outDir: build,
    config: resolveConfig(preset, { batch: Number(arg('--batch', '64')) }),
    seed: 0,
    optimizer: { ...ADAMW_DEFAULTS, clipGradNorm: 3 },
  });
  const manifest = readManifest(build);
  const c = manifest.config;
  const names = new Set(manifest.params.map((p) => p.name));
  const params = readSafetensors(path.join(build, PARAMS_FILE), { names: (n) => names.has(n) }).tensors;

  const session = await StepSession.create(path.join(build, 'train_step.onnx'), params);
  const rng = new Rng(0);
  const images = Float32Array.from({ length: c.batch * c.inChans * c.imageSize * c.imageSize }, () =>
    rng.normal(),
  );
  const feeds = await stepInputs(manifest, { images }, rng, { alignmentDropPath: true });
  const bare: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const s = performance.now();
    await session.run({ ...feeds, ...stepScalars(1e-4, t) });
    if (t > 3) bare.push((performance.now() - s) / 1000);
  }
  await session.release();

  await train({
    runDir: path.join(dir, 'run'),
    ep: 'cpu',
    workers: argv.includes('--workers') ? Number(arg('--workers', '2')) : undefined,
    logEvery: 1000,
    say: () => undefined,
    status: () => undefined,
    run: {
      buildDir: build,
      data,
      steps,
      schedule: { baseLr: 1e-4, minLr: 1e-5, warmupSteps: 1, totalSteps: steps },
      seed: 0,
      accumulate: 1,
      augment: defaultAugment(preset, data.kind),
      alignmentDropPath: true,
      checkpointEvery: 1_000_000,
    },
  });
  const full = readMetrics(path.join(dir, 'run', 'metrics.jsonl'))
    .slice(3)
    .map((m) => m.step_seconds);
  const b = median(bare);
  const f = median(full);
  console.log(
    JSON.stringify({
      preset,
      batch: c.batch,
      data: data.kind === 'folder' ? data.dir : data.kind,
      workers: argv.includes('--workers') ? Number(arg('--workers', '2')) : 'default',
      bareTrainStepSeconds: +b.toFixed(4),
      trainerStepSeconds: +f.toFixed(4),
      bareImagesPerSecond: Math.round(c.batch / b),
      trainerImagesPerSecond: Math.round(c.batch / f),
      trainerOverBare: +(f / b).toFixed(3),
    }),
  );
  fs.rmSync(dir, { recursive: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
