/**
 * Data-parallel scaling on this machine: the same global batch trained by one process with all
 * threads (--accumulate 2) and by `mpirun -np 2` ranks with one thread each, on MNIST. Prints
 * images/s (median over the steps after the first two), the ratio, and the all-reduce's share of a
 * rank's step time (rank 0's wait for the other rank included).
 *
 *   npm run build && npm run bench:build && node dist-bench/bench/data-parallel.js \
 *     [--presets cae-tiny-28:64,cae-small:4] [--steps 12] [--out bench/results/data-parallel.json]
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { readMetrics } from '../src/runtime/train/metrics-log';

const run = promisify(execFile);
const CLI = path.join(__dirname, '../../dist/cli/main.js');
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

interface Measured {
  readonly imagesPerSecond: number;
  readonly secondsPerStep: number;
  readonly allreduceShare?: number;
}

async function measure(
  preset: string,
  batch: number,
  steps: number,
  ranks: 1 | 2,
  dir: string,
): Promise<Measured> {
  const args = [
    'train',
    '--preset',
    preset,
    '--batch',
    String(batch),
    '--steps',
    String(steps),
    '--limit',
    '2048',
    '--log-every',
    String(steps),
    '--checkpoint-every',
    String(steps),
    '--out',
    dir,
    '--force',
  ];
  if (ranks === 1) {
    await run(process.execPath, [CLI, ...args, '--accumulate', '2', '--threads', String(os.cpus().length)], {
      env,
    });
  } else {
    await run(
      'mpirun',
      ['--oversubscribe', '-np', '2', process.execPath, CLI, ...args, '--distributed', 'mpi'],
      {
        env,
      },
    );
  }
  const m = readMetrics(path.join(dir, 'metrics.jsonl')).slice(2);
  const seconds = median(m.map((r) => r.step_seconds));
  const reduce = m.map((r) => r.allreduce_seconds).filter((s): s is number => s !== undefined);
  return {
    imagesPerSecond: median(m.map((r) => r.images_per_second)),
    secondsPerStep: seconds,
    ...(reduce.length > 0 ? { allreduceShare: median(reduce) / seconds } : {}),
  };
}

async function main(): Promise<void> {
  const presets = flag('presets', 'cae-tiny-28:64,cae-small:4').split(',');
  const steps = Number(flag('steps', '12'));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-dp-bench-'));
  const rows = [];
  for (const spec of presets) {
    const [preset, batch] = spec.split(':');
    const one = await measure(preset, Number(batch), steps, 1, path.join(root, `${preset}-1`));
    const two = await measure(preset, Number(batch), steps, 2, path.join(root, `${preset}-2`));
    const row = {
      preset,
      microBatch: Number(batch),
      globalBatch: 2 * Number(batch),
      oneRank: one,
      twoRanks: two,
    };
    rows.push(row);
    console.log(
      `${preset} (global batch ${row.globalBatch}): 1 rank x ${os.cpus().length} threads ${one.imagesPerSecond.toFixed(1)} img/s, ` +
        `2 ranks x 1 thread ${two.imagesPerSecond.toFixed(1)} img/s (${(two.imagesPerSecond / one.imagesPerSecond).toFixed(2)}x); ` +
        `all-reduce ${(100 * (two.allreduceShare ?? 0)).toFixed(1)}% of a step`,
    );
  }
  const out = flag('out', path.join(__dirname, '../../bench/results/data-parallel.json'));
  fs.writeFileSync(out, `${JSON.stringify({ cpus: os.cpus().length, steps, rows }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
