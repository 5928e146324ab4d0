/**
 * `cae-onnx train --ep webgpu` end to end on SwiftShader (a CPU implementation of Vulkan, so the
 * WebGPU provider runs here without a GPU): per-step losses equal the CPU run's, a SIGKILL then
 * --resume continues the same run, accumulation works, fp16 is refused for a missing shader-f16,
 * and probe / reconstruct / export run on the same provider.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listCheckpoints } from '../../src/runtime/train/checkpoint';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { CLI, cliWithEnv } from '../helpers/cli';
import { softwareGpuEnv } from '../helpers/software-gpu';

jest.setTimeout(240_000);

const env = softwareGpuEnv();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-webgpu-'));
const judged = ['--preset', 'cae-tiny-28', '--batch', '4', '--steps', '5', '--seed', '1'];
const losses = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl')).map((m) => m.loss);

function relativeDiffs(a: number[], b: number[]): number[] {
  expect(a).toHaveLength(b.length);
  return a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i]));
}

const gpuRun = path.join(root, 'webgpu');
const cpuRun = path.join(root, 'cpu');

test('train --ep webgpu: the first line names the software GPU; per-step losses match --ep cpu within 1e-3', async () => {
  const gpu = await cliWithEnv(env, 'train', '--ep', 'webgpu', ...judged, '--out', gpuRun);
  expect(gpu.code).toBe(0);
  expect(gpu.stderr.split('\n')[0]).toMatch(
    /^execution provider: webgpu \(asked for\): WARNING, a software Vulkan driver \(SwiftShader/,
  );
  const cpu = await cliWithEnv(env, 'train', '--ep', 'cpu', ...judged, '--out', cpuRun);
  expect(cpu.code).toBe(0);
  expect(losses(gpuRun)).toHaveLength(5);
  for (const d of relativeDiffs(losses(gpuRun), losses(cpuRun))) expect(d).toBeLessThan(1e-3);
  expect(listCheckpoints(gpuRun).map((c) => path.basename(c))).toEqual(['step-00000005']);
});

test('kill -9 during a webgpu run, then --resume completes the same run', async () => {
  const dir = path.join(root, 'killed');
  const args = [
    'train',
    '--ep',
    'webgpu',
    ...judged,
    '--checkpoint-every',
    '2',
    '--log-every',
    '1',
    '--out',
    dir,
  ];
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const until = Date.now() + 180_000;
  while (!/step 3\/5/.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGKILL');
  await exited;
  expect(listCheckpoints(dir).map((c) => path.basename(c))).toEqual(['step-00000002']);
  const resumed = await cliWithEnv(env, 'train', '--ep', 'webgpu', '--resume', dir);
  expect(resumed.code).toBe(0);
  expect(resumed.stderr).toMatch(/done: 5 steps/);
  expect(readMetrics(path.join(dir, 'metrics.jsonl')).map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
  for (const d of relativeDiffs(losses(dir), losses(gpuRun))) expect(d).toBeLessThan(1e-6);
});

test('--accumulate 2 on webgpu (grad_step + host AdamW) matches the CPU', async () => {
  const args = [
    '--preset',
    'cae-tiny-28',
    '--batch',
    '4',
    '--steps',
    '2',
    '--seed',
    '1',
    '--accumulate',
    '2',
  ];
  const gpu = await cliWithEnv(env, 'train', '--ep', 'webgpu', ...args, '--out', path.join(root, 'acc-gpu'));
  const cpu = await cliWithEnv(env, 'train', '--ep', 'cpu', ...args, '--out', path.join(root, 'acc-cpu'));
  expect([gpu.code, cpu.code]).toEqual([0, 0]);
  const diffs = relativeDiffs(losses(path.join(root, 'acc-gpu')), losses(path.join(root, 'acc-cpu')));
  for (const d of diffs) expect(d).toBeLessThan(1e-3);
});

test('--precision fp16 on an adapter without shader-f16 is refused before anything is built', async () => {
  const dir = path.join(root, 'fp16');
  const r = await cliWithEnv(env, 'train', '--ep', 'webgpu', '--precision', 'fp16', ...judged, '--out', dir);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/--precision fp16 on --ep webgpu needs the GPU adapter's shader-f16 feature/);
  expect(fs.existsSync(path.join(dir, 'build'))).toBe(false);
});

test('export, reconstruct and probe run on webgpu', async () => {
  const encoder = path.join(root, 'encoder.onnx');
  const exported = await cliWithEnv(
    env,
    'export',
    '--checkpoint',
    gpuRun,
    '--out',
    encoder,
    '--ep',
    'webgpu',
  );
  expect(exported.code).toBe(0);
  expect(exported.stdout).toMatch(/matches the training encoder/);
  const grid = path.join(root, 'grid.png');
  const rec = await cliWithEnv(
    env,
    'reconstruct',
    '--checkpoint',
    gpuRun,
    '--out',
    grid,
    '--count',
    '2',
    '--ep',
    'webgpu',
  );
  expect(rec.code).toBe(0);
  expect(fs.statSync(grid).size).toBeGreaterThan(0);
  const probe = await cliWithEnv(
    env,
    'probe',
    '--encoder',
    encoder,
    '--data',
    'mnist:train',
    '--val',
    'mnist:test',
    '--limit',
    '64',
    '--val-limit',
    '32',
    '--epochs',
    '1',
    '--batch',
    '16',
    '--ep',
    'webgpu',
  );
  expect(probe.code).toBe(0);
  expect(probe.stderr.split('\n')[0]).toMatch(/^execution provider: webgpu/);
  expect(probe.stdout).toMatch(/linear probe top-1: \d+\.\d+%/);
});

test('info --ep webgpu: no compute node of any graph of the build leaves the GPU', async () => {
  const r = await cliWithEnv(env, 'info', path.join(gpuRun, 'build'), '--ep', 'webgpu');
  expect(r.code).toBe(0);
  for (const graph of ['train_step', 'grad_step', 'eval_step', 'encoder'])
    expect(r.stdout).toMatch(
      new RegExp(`${graph}: placement on webgpu .*\\ncompute nodes off the provider: none`),
    );
});

test('finetune --ep webgpu matches the CPU (losses, validation) and its graphs stay on the GPU', async () => {
  const args = [
    'finetune',
    '--from',
    gpuRun,
    '--data',
    'mnist:train',
    '--val',
    'mnist:test',
    '--limit',
    '12',
    '--val-limit',
    '16',
    '--batch',
    '4',
    '--epochs',
    '1',
    '--seed',
    '1',
  ];
  const gpuDir = path.join(root, 'ft-gpu');
  const cpuDir = path.join(root, 'ft-cpu');
  const gpu = await cliWithEnv(env, ...args, '--ep', 'webgpu', '--out', gpuDir);
  expect(gpu.code).toBe(0);
  expect(gpu.stdout).toMatch(
    /validation top-1 .* wrote .*classifier\.onnx \(10 classes; matches the training graph/,
  );
  const cpu = await cliWithEnv(env, ...args, '--ep', 'cpu', '--out', cpuDir);
  expect(cpu.code).toBe(0);
  expect(losses(gpuDir)).toHaveLength(3);
  for (const d of relativeDiffs(losses(gpuDir), losses(cpuDir))) expect(d).toBeLessThan(1e-3);
  const valLoss = (dir: string) =>
    readMetrics(path.join(dir, 'metrics.jsonl'))
      .map((m) => m.val_loss as number)
      .filter((v) => v !== undefined);
  for (const d of relativeDiffs(valLoss(gpuDir), valLoss(cpuDir))) expect(d).toBeLessThan(1e-3);
  const r = await cliWithEnv(env, 'info', path.join(gpuDir, 'build'), '--ep', 'webgpu');
  expect(r.code).toBe(0);
  for (const graph of ['train_step', 'grad_step', 'classifier'])
    expect(r.stdout).toMatch(
      new RegExp(`${graph}: placement on webgpu .*\\ncompute nodes off the provider: none`),
    );
});

test('--ep auto never picks a software GPU', async () => {
  const r = await cliWithEnv(
    env,
    'train',
    '--ep',
    'auto',
    '--preset',
    'cae-tiny-28',
    '--batch',
    '4',
    '--steps',
    '1',
    '--out',
    path.join(root, 'auto'),
  );
  expect(r.code).toBe(0);
  expect(r.stderr.split('\n')[0]).toMatch(
    /^execution provider: cpu \(auto: .*webgpu: only a software Vulkan driver \(SwiftShader\), slower than the CPU/,
  );
});
