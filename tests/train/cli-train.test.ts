/**
 * `cae-onnx train` as a user runs it (the compiled CLI, built by `npm test`'s pretest): interruption
 * by SIGINT, SIGKILL at random moments, resume, export, and clear errors for bad input.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { CLI, cli } from '../helpers/cli';
import { smallBuild } from '../helpers/small-cae';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listCheckpoints, readCheckpoint } from '../../src/runtime/train/checkpoint';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { readModelFile } from '../../src/artifacts/onnx-file';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cae-cli-'));
const build = smallBuild();
const common = ['--build', build, '--limit', '512', '--log-every', '1', '--workers', '1', '--threads', '1'];

function start(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exit };
}

async function waitFor(check: () => boolean, ms = 60000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('SIGINT writes a checkpoint and exits 130; --resume finishes the run; export works', async () => {
  const dir = path.join(tmp(), 'run');
  const p = start([...common, '--out', dir, '--steps', '400', '--checkpoint-every', '1000']);
  await waitFor(() => /step 3\/400/.test(p.output()));
  p.child.kill('SIGINT');
  expect(await p.exit).toBe(130);
  expect(p.output()).toMatch(/continue with: cae-onnx train --resume/);
  const stopped = readCheckpoint(dir).state.step;
  expect(stopped).toBeGreaterThanOrEqual(3);
  const again = await cli('train', '--out', dir, ...common);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already holds a run: continue it with --resume/);
  const resumed = await cli('train', '--resume', dir, '--workers', '1');
  expect(resumed.code).toBe(0);
  expect(readCheckpoint(dir).state.step).toBe(400);
  expect(readMetrics(path.join(dir, 'metrics.jsonl')).map((m) => m.step)).toEqual(
    Array.from({ length: 400 }, (_, i) => i + 1),
  );
  const exported = await cli('export', '--checkpoint', dir, '--out', path.join(dir, 'encoder.onnx'));
  expect(exported.code).toBe(0);
  expect(exported.stdout).toMatch(/step 400.*tokens \[batch, 50, 32\]; matches the training encoder/);
  // Below opset 20 the MLP's GELU is written in its Erf form and still matches the training graph.
  const old = path.join(dir, 'encoder-18.onnx');
  const at18 = await cli('export', '--checkpoint', dir, '--out', old, '--opset', '18');
  expect(at18.code).toBe(0);
  expect(at18.stdout).toMatch(/\(opset 18, step 400\).*matches the training encoder/);
  const ops = readModelFile(old).graph!.node!.map((n) => n.opType);
  expect(ops).toContain('Erf');
  expect(ops).not.toContain('Gelu');
}, 180_000);

test('SIGKILL at random moments always leaves a loadable checkpoint', async () => {
  const dir = path.join(tmp(), 'run');
  let first = true;
  for (let trial = 0; trial < 4; trial++) {
    const args = first ? [...common, '--out', dir] : ['--resume', dir, '--workers', '1'];
    if (first) args.push('--steps', '2000', '--checkpoint-every', '2');
    const p = start(args);
    await waitFor(() => /step \d+\/2000/.test(p.output()));
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 700));
    p.child.kill('SIGKILL');
    await p.exit;
    first = false;
    expect(listCheckpoints(dir).length).toBeGreaterThan(0);
    const ckpt = readCheckpoint(dir);
    expect(ckpt.params.size).toBe(ckpt.manifest.params.length);
    expect(ckpt.state.step % 2).toBe(0);
  }
}, 180_000);

test.each([
  [['--data', '/nonexistent'], /--data \/nonexistent is not a folder/],
  [['--steps', '0'], /--steps.*must be a positive integer/],
  [['--ep', 'dml'], /Windows only/],
  [['--resume', '/nonexistent'], /no checkpoint there to resume from/],
  [['--build', '/tmp'], /not a build folder/],
  [['--crop-scale', '2,1'], /--crop-scale.*must be/],
])('train %j fails with a clear message', async (args, message) => {
  const r = await cli('train', '--out', path.join(tmp(), 'r'), ...(args as string[]));
  expect(r.code === 1 || r.code === 3).toBe(true);
  expect(r.stderr).toMatch(message as RegExp);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});

test('fp16 builds train, log their loss scale, checkpoint its state, and refuse --accumulate', async () => {
  const fp16 = smallBuild({ precision: 'fp16' });
  const dir = path.join(tmp(), 'run');
  const args = ['--build', fp16, '--limit', '512', '--log-every', '5', '--workers', '1', '--threads', '1'];
  const first = await cli('train', ...args, '--out', dir, '--steps', '10');
  expect(first.code).toBe(0);
  const metrics = readMetrics(path.join(dir, 'metrics.jsonl'));
  expect(metrics.map((m) => m.loss_scale)).toEqual(Array(10).fill(2 ** 16));
  expect(readCheckpoint(dir).optimizer.has('amp.loss_scale_log2')).toBe(true);
  const refused = await cli('train', ...args, '--out', path.join(tmp(), 'r'), '--accumulate', '2');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/fp16 builds train with the fused train_step only/);
});
