/**
 * Train-step throughput of the CAE presets on one execution provider: images/s, seconds/step, analytic
 * matmul FLOPs per image (forward + backward on the trained path, forward only for the stop-gradient
 * target pass, counted from the traced graph), achieved FLOP/s and MFU against the peak MatMul FLOP/s
 * measured in the same process with the same session options, peak RSS and session creation time.
 * Each preset runs in its own child process so peak RSS is its own. With --torch, the same model,
 * batch and threads in PyTorch (bench/torch/train_step_torch.py) in the same run, and the ratio.
 *
 *   npm run bench:build && node dist-bench/bench/train-step.js [--presets cae-tiny-28:128,cae-small:16,cae-base:8]
 *     [--threads 2] [--steps 5] [--ep cpu] [--precision fp32|fp16] [--torch] [--python /usr/bin/python3]
 *     [--out train-step.json] [--profile] [--opt-level disabled|basic|extended|all] [--no-arena] [--mem-pattern]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../src/graph-builder/cae/config';
import type { SessionConfig } from '../src/runtime/session';
import { TRAIN_SESSION_DEFAULTS } from '../src/runtime/train/step-session';
import { torchConfig } from './torch-config';

export interface TorchResult {
  secondsPerStep: number;
  imagesPerSecond: number;
  peakRssMiB: number;
  version: string;
  blas: string;
}

export interface PresetResult {
  preset: string;
  batch: number;
  threads: number;
  ep: string;
  precision: string;
  sessionOptions: Options['session'];
  params: number;
  graphNodes: number;
  /** Matmul FLOPs per image of one train step (fwd + bwd trained path, fwd target pass). */
  trainFlopsPerImage: number;
  /** Matmul FLOPs per image of the forward (eval_step: every forward pass of the step). */
  forwardFlopsPerImage: number;
  /** Train steps timed (median taken): at least --steps and at least 5 s worth. */
  timedSteps: number;
  secondsPerStep: number;
  imagesPerSecond: number;
  achievedGflops: number;
  peakMatmulGflops: number;
  mfu: number;
  forwardSecondsPerStep: number;
  /** (train step - forward) / forward: what backward + optimizer update cost relative to the forward. */
  backwardUpdateOverForward: number;
  sessionCreateSeconds: { trainStep: number; evalStep: number };
  peakRssMiB: number;
  torch?: TorchResult;
  speedupOverTorch?: number;
}

interface Options {
  /** Session options under test (defaults: the trainer's, TRAIN_SESSION_DEFAULTS). */
  session: Pick<SessionConfig, 'graphOptimizationLevel' | 'memoryArena' | 'memoryPattern'>;
  threads: number;
  steps: number;
  ep: string;
  precision: string;
  torch: boolean;
  python: string;
  profile: boolean;
}

function parseArgs(argv: string[]): Options & { presets: [string, number][]; out?: string; one?: string } {
  const arg = (f: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : undefined);
  const presets = (arg('--presets') ?? 'cae-tiny-28:128,cae-small:16,cae-base:8').split(',').map((s) => {
    const [name, batch] = s.split(':');
    return [name, Number(batch ?? 0)] as [string, number];
  });
  return {
    presets,
    one: arg('--one'),
    out: arg('--out'),
    threads: Number(arg('--threads') ?? os.availableParallelism()),
    steps: Number(arg('--steps') ?? 5),
    ep: arg('--ep') ?? 'cpu',
    precision: arg('--precision') ?? 'fp32',
    torch: argv.includes('--torch'),
    python: arg('--python') ?? '/usr/bin/python3',
    profile: argv.includes('--profile'),
    session: {
      graphOptimizationLevel: arg('--opt-level') as SessionConfig['graphOptimizationLevel'],
      memoryArena: argv.includes('--no-arena') ? false : undefined,
      memoryPattern: argv.includes('--mem-pattern') ? true : TRAIN_SESSION_DEFAULTS.memoryPattern,
    },
  };
}

function childArgs(o: Options): string[] {
  const args = ['--threads', String(o.threads), '--steps', String(o.steps), '--ep', o.ep];
  args.push('--precision', o.precision);
  if (o.profile) args.push('--profile');
  if (o.session.graphOptimizationLevel) args.push('--opt-level', o.session.graphOptimizationLevel);
  if (o.session.memoryArena === false) args.push('--no-arena');
  if (o.session.memoryPattern) args.push('--mem-pattern');
  return args;
}

/** PyTorch on the same config, batch and threads (a separate process). */
function torchRun(preset: string, batch: number, o: Options): TorchResult {
  const c = resolveConfig(preset, { batch });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-step-torch-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify(torchConfig(c)));
  const script = path.join(__dirname, '../../bench/torch/train_step_torch.py');
  const args = [script, config, '--batch', String(batch), '--threads', String(o.threads)];
  args.push('--num-masked', String(c.numMasked), '--steps', String(o.steps));
  // PyTorch's best settings on this VM: OpenMP threads that sleep when idle and OpenBLAS threads that
  // stop spinning soon, so the two pools do not fight for the cores (overridable from the environment).
  const env = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(o.threads),
    OMP_NUM_THREADS: String(o.threads),
    OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
    OPENBLAS_THREAD_TIMEOUT: process.env.OPENBLAS_THREAD_TIMEOUT ?? '4',
  };
  const r = JSON.parse(execFileSync(o.python, args, { encoding: 'utf8', env })) as Record<
    string,
    number | string
  >;
  fs.rmSync(dir, { recursive: true });
  return {
    secondsPerStep: r.seconds_per_step as number,
    imagesPerSecond: r.images_per_second as number,
    peakRssMiB: r.peak_rss_mib as number,
    version: String(r.torch),
    blas: String(r.blas),
  };
}

async function main() {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  if (o.one) {
    const [preset, batch] = o.one.split(':');
    const { measurePreset } = await import('./train-step-measure');
    console.log(JSON.stringify(await measurePreset(preset, Number(batch), o)));
    return;
  }
  const results: PresetResult[] = [];
  for (const [preset, batch] of o.presets) {
    const c = resolveConfig(preset, batch ? { batch } : {});
    console.error(`${preset} batch ${c.batch}: measuring...`);
    const out = execFileSync(
      process.execPath,
      [__filename, '--one', `${preset}:${c.batch}`, ...childArgs(o)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 24,
      },
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as PresetResult;
    if (o.torch) {
      console.error(`${preset} batch ${c.batch}: PyTorch...`);
      const torch = torchRun(preset, c.batch, { ...o, steps: r.timedSteps });
      r.torch = torch;
      r.speedupOverTorch = +(r.imagesPerSecond / torch.imagesPerSecond).toFixed(2);
    }
    results.push(r);
    console.error(JSON.stringify(r));
  }
  const f = (v: number, d = 2) => v.toFixed(d);
  console.log(
    '| preset | batch | img/s | s/step | GFLOP/img | GFLOP/s | peak | MFU | (bwd+upd)/fwd | RSS MiB | session s | vs torch |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.preset} | ${r.batch} | ${f(r.imagesPerSecond, 1)} | ${f(r.secondsPerStep, 3)} | ${f(r.trainFlopsPerImage / 1e9)} | ${f(r.achievedGflops, 1)} | ${f(r.peakMatmulGflops, 0)} | ${f(100 * r.mfu, 0)}% | ${f(r.backwardUpdateOverForward)} | ${Math.round(r.peakRssMiB)} | ${f(r.sessionCreateSeconds.trainStep, 1)} | ${r.speedupOverTorch ? `${r.speedupOverTorch}x (${f(r.torch?.imagesPerSecond ?? 0, 1)} img/s)` : '-'} |`,
    );
  }
  const out = o.out ?? 'train-step.json';
  fs.writeFileSync(
    out,
    JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, results }, null, 2),
  );
  console.error(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
