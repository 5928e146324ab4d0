/**
 * `cae-onnx finetune` and `cae-onnx predict` as a user runs them (the compiled CLI): a short
 * fine-tune of a small pretraining run on MNIST with validation at each epoch's end, classifier.onnx
 * against the training graph, prediction by class name, and one-line errors for bad input.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { readClassifierMetadata } from '../../src/artifacts/encoder-metadata';
import { readModelFile } from '../../src/artifacts/onnx-file';
import { readSafetensors } from '../../src/artifacts/safetensors';
import { tensorData } from '../../src/graph-builder/core/tensor-data';
import { mnistPaths, readIdxDataset } from '../../src/runtime/data/idx';
import { ModelSession } from '../../src/runtime/session';
import { readCheckpoint } from '../../src/runtime/train/checkpoint';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { CLI, cli } from '../helpers/cli';
import { smallBuild } from '../helpers/small-cae';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cae-finetune-'));
const root = tmp();
const pretrained = path.join(root, 'pretrained');
const run = path.join(root, 'finetune');
const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
// 256 images in batches of 8 = 32 updates per epoch, two epochs.
const common = ['--data', 'mnist:train', '--val', 'mnist:test', '--limit', '256', '--val-limit', '200'];
const quiet = ['--threads', '1', '--workers', '1', '--log-every', '16'];

beforeAll(async () => {
  const pre = await cli(
    'train',
    '--build',
    smallBuild(),
    '--steps',
    '4',
    '--limit',
    '256',
    '--out',
    pretrained,
    ...quiet,
  );
  expect(pre.code).toBe(0);
  const r = await cli(
    'finetune',
    '--from',
    pretrained,
    ...common,
    '--epochs',
    '2',
    '--lr',
    '3e-3',
    '--class-names',
    DIGITS.join(','),
    '--out',
    run,
    ...quiet,
  );
  if (r.code !== 0) throw new Error(r.stderr);
}, 300_000);

test('validation top-1 is recorded at each epoch end; curves, checkpoint and classifier.onnx are written', () => {
  const metrics = readMetrics(path.join(run, 'metrics.jsonl'));
  expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
  const validated = metrics.filter((m) => typeof m.val_top1 === 'number');
  expect(validated.map((m) => m.step)).toEqual([32, 64]);
  for (const m of validated) {
    expect(m.val_samples).toBe(200);
    expect(m.val_top1).toBeGreaterThanOrEqual(0);
    expect(m.val_top1).toBeLessThanOrEqual(1);
  }
  expect(fs.existsSync(path.join(run, 'loss.png'))).toBe(true);
  expect(readCheckpoint(run).state.step).toBe(64);
  const meta = readClassifierMetadata(readModelFile(path.join(run, 'classifier.onnx')));
  expect(meta?.classNames).toEqual(DIGITS);
  expect(meta?.mean).toEqual([0.5]);
});

test('without mixup, erasing, drop path and crops the classifier fits its data and beats chance', async () => {
  // A barely pretrained 32-d encoder learns slowly (patch conv init std 0.02 against the sin-cos
  // table), so 20 short epochs at a high lr, every regularizer off.
  const out = path.join(tmp(), 'plain');
  const plain = ['--mixup', '0', '--cutmix', '0', '--reprob', '0', '--smoothing', '0', '--drop-path', '0'];
  const r = await cli(
    'finetune',
    '--from',
    pretrained,
    ...common,
    '--epochs',
    '20',
    '--lr',
    '1e-2',
    '--layer-decay',
    '1',
    ...plain,
    '--no-augment',
    '--out',
    out,
    ...quiet,
  );
  expect(r.code).toBe(0);
  const metrics = readMetrics(path.join(out, 'metrics.jsonl'));
  const epochLoss = (e: number) => {
    const rows = metrics.filter((m) => m.epoch === e);
    return rows.reduce((a, m) => a + m.loss, 0) / rows.length;
  };
  expect(epochLoss(19)).toBeLessThan(0.85 * epochLoss(0));
  // 10 classes; always answering the commonest of these 200 validation digits scores 14%.
  expect(metrics.at(-1)!.val_top1).toBeGreaterThan(0.2);
}, 120_000);

test('SIGINT writes a checkpoint and exits 130; --resume finishes and exports classifier.onnx', async () => {
  const dir = path.join(tmp(), 'interrupted');
  const args = [
    'finetune',
    '--from',
    pretrained,
    ...common,
    '--epochs',
    '10',
    '--out',
    dir,
    '--threads',
    '1',
    '--log-every',
    '1',
  ];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const until = Date.now() + 60_000;
  while (!/step 3\/320/.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  expect(await exited).toBe(130);
  expect(out).toMatch(/continue with: cae-onnx finetune --resume/);
  expect(fs.existsSync(path.join(dir, 'classifier.onnx'))).toBe(false);
  const resumed = await cli('finetune', '--resume', dir, '--threads', '1', '--workers', '1');
  expect(resumed.code).toBe(0);
  expect(readCheckpoint(dir).state.step).toBe(320);
  expect(readMetrics(path.join(dir, 'metrics.jsonl')).map((m) => m.step)).toEqual(
    Array.from({ length: 320 }, (_, i) => i + 1),
  );
  expect(fs.existsSync(path.join(dir, 'classifier.onnx'))).toBe(true);
}, 120_000);

test('fine-tuning starts from imported PyTorch weights: encoder as imported, fc_norm from its final norm', async () => {
  const imported = path.join(tmp(), 'imported');
  const fixture = path.join(__dirname, '../fixtures/pytorch/cae-official.pt');
  const i = await cli('import', fixture, '--out', imported, '--heads', '2', '--decoder-heads', '2');
  expect(i.code).toBe(0);
  const out = path.join(tmp(), 'from-import');
  const r = await cli(
    'finetune',
    '--from',
    imported,
    ...common,
    '--limit',
    '16',
    '--batch',
    '8',
    '--epochs',
    '1',
    '--out',
    out,
    ...quiet,
  );
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/fine-tuning cae-tiny-28 from .*imported/);
  const source = readCheckpoint(imported).params;
  const start = readSafetensors(path.join(out, 'build', 'params.safetensors')).tensors;
  const same = (a: string, b: string) =>
    expect(Array.from(start.get(a)!.data as Float32Array)).toEqual(
      Array.from(source.get(b)!.data as Float32Array),
    );
  same('encoder.blocks.1.mlp.fc2.weight', 'encoder.blocks.1.mlp.fc2.weight');
  same('encoder.cls_token', 'encoder.cls_token');
  same('fc_norm.weight', 'encoder.norm.weight');
  same('fc_norm.bias', 'encoder.norm.bias');
}, 60_000);

test("classifier.onnx's logits equal the training graph's (parameters as inputs) within 1e-5", async () => {
  const ckpt = readCheckpoint(run);
  const { images } = readIdxDataset(mnistPaths('test').images);
  const n = 16;
  const x = Float32Array.from(images.data.subarray(0, n * 784), (v) => (v / 255 - 0.5) / 0.5);
  const feed = tensorData('float32', [n, 1, 28, 28], x);
  const deployed = await ModelSession.create(path.join(run, 'classifier.onnx'));
  const training = await ModelSession.create(path.join(run, 'build', ckpt.manifest.graphs.classifier!.file));
  const a = (await deployed.run({ images: feed })).logits.data as Float32Array;
  const b = (await training.run({ images: feed, ...Object.fromEntries(ckpt.params) })).logits
    .data as Float32Array;
  await deployed.release();
  await training.release();
  expect(a.length).toBe(n * 10);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(1e-5);
  // Not a constant function: the logits differ between images.
  expect(new Set(Array.from({ length: n }, (_, i) => a[i * 10].toFixed(4))).size).toBeGreaterThan(1);
});

test('predict names the classes, most probable first, as the model itself ranks them', async () => {
  const dir = tmp();
  const { images } = readIdxDataset(mnistPaths('test').images);
  const files: string[] = [];
  for (let i = 0; i < 3; i++) {
    const file = path.join(dir, `digit-${i}.png`);
    await sharp(Buffer.from(images.data.subarray(i * 784, (i + 1) * 784)), {
      raw: { width: 28, height: 28, channels: 1 },
    })
      .png()
      .toFile(file);
    files.push(file);
  }
  fs.writeFileSync(path.join(dir, 'broken.png'), 'not an image');
  const r = await cli('predict', '--model', path.join(run, 'classifier.onnx'), '--top', '2', '--json', dir);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/broken\.png: could not be decoded/);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map(
      (l) =>
        JSON.parse(l) as {
          file: string;
          top: { classId: number; name: string; probability: number }[];
        },
    );
  expect(lines.map((l) => path.basename(l.file))).toEqual(['digit-0.png', 'digit-1.png', 'digit-2.png']);
  const session = await ModelSession.create(path.join(run, 'classifier.onnx'));
  for (const [i, line] of lines.entries()) {
    expect(line.top).toHaveLength(2);
    expect(line.top[0].probability).toBeGreaterThanOrEqual(line.top[1].probability);
    expect(line.top[0].name).toBe(DIGITS[line.top[0].classId]);
    // The file decoded as validation decodes it gives the same argmax.
    const x = Float32Array.from(images.data.subarray(i * 784, (i + 1) * 784), (v) => (v / 255 - 0.5) / 0.5);
    const logits = (await session.run({ images: tensorData('float32', [1, 1, 28, 28], x) })).logits
      .data as Float32Array;
    expect(line.top[0].classId).toBe(logits.indexOf(Math.max(...logits)));
  }
  await session.release();
  const text = await cli('predict', '--model', path.join(run, 'classifier.onnx'), files[0]);
  expect(text.stdout).toMatch(new RegExp(`digit-0\\.png: (${DIGITS.join('|')}) \\d+\\.\\d%, `));
}, 60_000);

test('export of a fine-tuning run writes classifier.onnx, verified', async () => {
  const out = path.join(tmp(), 'c.onnx');
  const r = await cli('export', '--checkpoint', run, '--out', out);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /step 64\): images \[batch, 1, 28, 28\] -> logits \[batch, 10\]; matches the training graph/,
  );
});

test.each([
  [['--from', '/nonexistent', ...common], /--from \/nonexistent does not exist/],
  [['--preset', 'cae-tiny-28', '--data', 'mnist:train'], /needs --data and --val/],
  [['--data', 'mnist:train', '--val', 'mnist:test'], /give --from .* or --preset/],
  [['--from', 'RUN', ...common], /is a fine-tuning run; continue it with cae-onnx finetune --resume/],
  [
    ['--preset', 'cae-tiny-28', ...common, '--class-names', 'a,b'],
    /--class-names names 2 classes; the labels go up to 9/,
  ],
  [['--preset', 'cae-tiny-28', ...common, '--layer-decay', '1.5'], /--layer-decay.*must be in/],
])('finetune %j fails with one clear line', async (args, message) => {
  const out = path.join(tmp(), 'r');
  const r = await cli('finetune', ...(args as string[]).map((a) => (a === 'RUN' ? run : a)), '--out', out);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message as RegExp);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(fs.existsSync(out)).toBe(false);
});

test('predict refuses a model without class names in one line', async () => {
  const r = await cli('predict', '--model', path.join(pretrained, 'build', 'train_step.onnx'), __filename);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/no class names in its metadata/);
});
