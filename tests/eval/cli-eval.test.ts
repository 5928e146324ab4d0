import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readEncoderMetadata } from '../../src/artifacts/encoder-metadata';
import { readModelFile } from '../../src/artifacts/onnx-file';
import { mnistPaths, readIdxImages, readIdxLabels } from '../../src/runtime/data/idx';
import { readEvaluations } from '../../src/runtime/report/evaluations';
import { train } from '../../src/runtime/train/trainer';
import { cli } from '../helpers/cli';
import { smallBuild } from '../helpers/small-cae';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-eval-cli-'));

/**
 * k-NN top-1 on raw MNIST pixels (first `n` training and `m` test images), written out here: pixels
 * normalized as the build's encoder expects, cosine similarity, top-20 vote weighted by exp(s / 0.07).
 */
function rawPixelKnn(encoder: string, n: number, m: number): number {
  const { mean, std } = readEncoderMetadata(readModelFile(encoder))!;
  const load = (split: 'train' | 'test', count: number) => {
    const { images, labels } = mnistPaths(split);
    const x = readIdxImages(images);
    const y = readIdxLabels(labels);
    return Array.from({ length: count }, (_, i) => {
      const v = Array.from(x.data.subarray(i * 784, (i + 1) * 784), (p) => (p / 255 - mean[0]) / std[0]);
      const norm = Math.hypot(...v);
      return { v: v.map((a) => a / norm), label: y[i] };
    });
  };
  const train = load('train', n);
  const test = load('test', m);
  let correct = 0;
  for (const t of test) {
    const sims = train.map((s) => ({ s: s.v.reduce((a, b, j) => a + b * t.v[j], 0), label: s.label }));
    sims.sort((a, b) => b.s - a.s);
    const votes = new Array<number>(10).fill(0);
    for (const { s, label } of sims.slice(0, 20)) votes[label] += Math.exp(s / 0.07);
    if (votes.indexOf(Math.max(...votes)) === t.label) correct++;
  }
  return correct / m;
}
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
  // The raw-pixel baseline: the same k-NN on the normalized pixels, computed here independently.
  const pixels = Number(/raw pixels, same protocol: (\d+\.\d+)%/.exec(knn.stdout)?.[1]);
  expect(pixels / 100).toBeCloseTo(rawPixelKnn(encoder, 500, 200), 2);
  const again = await cli(
    'probe',
    ...['--encoder', encoder, '--data', 'mnist:train', '--val', 'mnist:test', '--mode', 'knn'],
    ...['--limit', '500', '--val-limit', '200'],
  );
  expect(again.stdout).toMatch(/raw pixels, same protocol: \d+\.\d+% \(cached\)/);
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
  // The exported encoder names its run: every probe is recorded there, with the baseline.
  const recorded = readEvaluations(run);
  expect(recorded.map((e) => e.kind === 'probe' && e.mode)).toEqual(['knn', 'knn', 'linear']);
  expect(recorded.every((e) => e.kind === 'probe' && e.baseline !== undefined && e.step === 4)).toBe(true);
  expect(fs.readFileSync(path.join(run, 'report.html'), 'utf8')).toMatch(/linear probe \(cls\)/);
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
