/**
 * `mpirun -np 2 cae-onnx train --distributed mpi` on this machine (Open MPI, installed by .ci/run):
 * equal to one process accumulating the same micro-batches, a killed rank ends the job, and a
 * distributed run resumes with another number of ranks when the global batch allows it.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { listCheckpoints, readCheckpoint } from '../../src/runtime/train/checkpoint';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { CLI, cli } from '../helpers/cli';

const execFileAsync = promisify(execFile);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-mpi-'));
/** mpirun as CI runs it: as root, more ranks than cores allowed. */
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
const judged = ['--preset', 'cae-tiny-28', '--batch', '8', '--steps', '6', '--limit', '256', '--seed', '3'];
const quiet = ['--log-every', '1', '--workers', '1', '--checkpoint-every', '2'];
const losses = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl')).map((m) => m.loss);

function mpirun(ranks: number, args: string[]): ChildProcess {
  return spawn('mpirun', ['--oversubscribe', '-np', String(ranks), process.execPath, CLI, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function finish(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out };
}

const distributed = path.join(root, 'two-ranks');
const single = path.join(root, 'accumulate');

beforeAll(async () => {
  const r = await finish(
    mpirun(2, ['train', '--distributed', 'mpi', ...judged, ...quiet, '--out', distributed]),
  );
  if (r.code !== 0) throw new Error(r.out);
  const s = await cli('train', ...judged, '--accumulate', '2', ...quiet, '--out', single);
  if (s.code !== 0) throw new Error(s.stderr);
}, 120_000);

test('2 ranks x batch 8 equal one process with batch 8 x --accumulate 2: losses and parameters', () => {
  // The same micro-batches, masks and gradient sums: for two ranks the all-reduce adds the same two
  // numbers as the accumulation, so the bound is 0; other MPI reductions could reorder larger sums.
  expect(losses(distributed)).toHaveLength(6);
  expect(losses(distributed)).toEqual(losses(single));
  const a = readCheckpoint(distributed).params;
  const b = readCheckpoint(single).params;
  let worst = 0;
  for (const [name, t] of a) {
    const x = t.data as Float32Array;
    const y = b.get(name)!.data as Float32Array;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  expect(worst).toBe(0);
  // Rank 0 alone wrote: one metrics record per step, one checkpoint folder per save.
  expect(readMetrics(path.join(distributed, 'metrics.jsonl')).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
});

test('kill -9 of one rank ends the job within 10 s; the newest checkpoint loads and resumes on one process', async () => {
  const dir = path.join(root, 'killed');
  const child = mpirun(2, [
    'train',
    '--distributed',
    'mpi',
    ...judged,
    ...quiet,
    '--steps',
    '400',
    '--checkpoint-every',
    '2',
    '--out',
    dir,
  ]);
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const until = Date.now() + 60_000;
  while (!/step 5\/400/.test(out) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  // The ranks are node processes running the CLI with this run folder; kill the second one.
  const { stdout } = await execFileAsync('pgrep', ['-f', `${CLI} train --distributed mpi .*--out ${dir}`]);
  const ranks = stdout
    .trim()
    .split('\n')
    .map(Number)
    .filter((pid) => pid !== child.pid) // mpirun's own command line names the run too
    .sort((x, y) => x - y);
  expect(ranks).toHaveLength(2);
  const killedAt = Date.now();
  process.kill(ranks[1], 'SIGKILL');
  const code = await exited;
  expect(code).not.toBe(0);
  expect(Date.now() - killedAt).toBeLessThan(10_000);
  const newest = readCheckpoint(dir);
  expect(newest.state.step).toBeGreaterThanOrEqual(4);
  // The run's update is 2 micro-batches: one process takes both.
  const resumed = await cli('train', '--resume', dir, '--workers', '1', '--log-every', '50');
  expect(resumed.code).toBe(0);
  expect(readCheckpoint(dir).state.step).toBe(400);
}, 120_000);

test('a distributed run resumed on one process continues its losses exactly; 3 ranks are refused', async () => {
  const dir = path.join(root, 'resumed');
  fs.cpSync(distributed, dir, { recursive: true });
  // Back to the checkpoint of step 4 (the run keeps the newest two), then one process finishes it.
  const [older] = listCheckpoints(dir);
  expect(path.basename(older)).toBe('step-00000004');
  fs.rmSync(listCheckpoints(dir)[1], { recursive: true });
  const r = await cli('train', '--resume', dir, ...quiet);
  expect(r.code).toBe(0);
  expect(losses(dir)).toEqual(losses(distributed));
  const three = await finish(mpirun(3, ['train', '--distributed', 'mpi', '--resume', dir]));
  expect(three.code).not.toBe(0);
  expect(three.out).toMatch(/2 micro-batches per update, which 3 ranks cannot share evenly/);
}, 120_000);

test('finetune --distributed mpi: 2 ranks equal --accumulate 2 (losses, validation); rank 0 exports', async () => {
  const args = ['--from', distributed, '--data', 'mnist:train', '--val', 'mnist:test', '--limit', '64'];
  const common = [...args, '--val-limit', '64', '--batch', '8', '--epochs', '2', '--workers', '1'];
  const two = path.join(root, 'ft-two');
  const one = path.join(root, 'ft-one');
  const r = await finish(mpirun(2, ['finetune', '--distributed', 'mpi', ...common, '--out', two]));
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/wrote .*classifier\.onnx/);
  const s = await cli('finetune', ...common, '--accumulate', '2', '--out', one);
  expect(s.code).toBe(0);
  const metrics = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl'));
  expect(metrics(two).map((m) => m.loss)).toEqual(metrics(one).map((m) => m.loss));
  expect(metrics(two).map((m) => m.val_loss)).toEqual(metrics(one).map((m) => m.val_loss));
  expect(
    metrics(two)
      .filter((m) => m.val_top1 !== undefined)
      .map((m) => m.step),
  ).toEqual([4, 8]);
  expect(fs.existsSync(path.join(two, 'classifier.onnx'))).toBe(true);
}, 120_000);
