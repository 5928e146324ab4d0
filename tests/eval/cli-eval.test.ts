import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { train } from '../../src/runtime/train/trainer';
import { cli } from '../helpers/cli';
import { smallBuild } from '../helpers/small-cae';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-eval-cli-'));
const build = smallBuild();

test('probe (k-NN and linear) and reconstruct from the command line', async () => {
  const run = path.join(dir, 'run');
  await train({
    runDir: run,
    ep: 'cpu',
    workers: 0,
    logEvery: 100,
    say: () => undefined,
    status: () => undefined,
    run: {
      buildDir: build,
      data: { kind: 'mnist', split: 'train' },
      steps: 4,
      schedule: { baseLr: 1e-3, minLr: 1e-5, warmupSteps: 1, totalSteps: 4 },
      seed: 0,
      accumulate: 1,
      augment: false,
      alignmentDropPath: true,
      limit: 64,
      checkpointEvery: 4,
    },
  });
  const encoder = path.join(dir, 'encoder.onnx');
  expect((await cli('export', '--checkpoint', run, '--out', encoder)).code).toBe(0);
  const knn = await cli(
    'probe',
    '--encoder',
    encoder,
    '--data',
    'mnist:train',
    '--val',
    'mnist:test',
    '--mode',
    'knn',
    '--limit',
    '500',
    '--val-limit',
    '200',
  );
  expect(knn.code).toBe(0);
  expect(knn.stdout).toMatch(/knn probe top-1: \d+\.\d+%/);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.knn.json'), 'utf8')) as {
    accuracy: number;
    train: { samples: number };
  };
  expect(report.train.samples).toBe(500);
  expect(report.accuracy).toBeGreaterThan(0.3); // 10 classes: well above chance even for a barely trained encoder
  const linear = await cli(
    'probe',
    '--encoder',
    encoder,
    '--data',
    'mnist:train',
    '--val',
    'mnist:test',
    '--mode',
    'linear',
    '--limit',
    '512',
    '--val-limit',
    '200',
    '--epochs',
    '3',
    '--batch',
    '64',
  );
  expect(linear.code).toBe(0);
  expect(linear.stderr).toMatch(/\(cached\)/); // the k-NN run cached these features
  // Not a terminal: one progress line per epoch, not carriage returns glued into one line.
  expect(linear.stderr).toMatch(/^epoch 1: loss [\d.]+\nepoch 2: loss [\d.]+\nepoch 3: loss [\d.]+$/m);
  const grid = path.join(dir, 'grid.png');
  const recon = await cli('reconstruct', '--checkpoint', run, '--out', grid, '--count', '3');
  expect(recon.code).toBe(0);
  expect(fs.existsSync(grid)).toBe(true);
}, 120_000);

test.each([
  [
    ['probe', '--encoder', '/nonexistent.onnx', '--data', 'mnist:train', '--val', 'mnist:test'],
    /no such encoder/,
  ],
  [
    ['probe', '--encoder', 'x.onnx', '--data', 'mnist:train', '--val', 'mnist:test', '--mode', 'svm'],
    /--mode.*must be one of/,
  ],
  [['reconstruct', '--checkpoint', '/nonexistent', '--out', 'x.png'], /no checkpoint|has no manifest/],
])('%j fails with a clear message', async (args, message) => {
  const r = await cli(...(args as string[]));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message as RegExp);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
