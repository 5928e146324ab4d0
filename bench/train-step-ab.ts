/**
 * A/B of two builds of the same model: their train_step graphs run alternately in one process (A B,
 * then B A, ...), one step each per round, so both see the same moments of this shared VM. Prints
 * the median seconds per step of each, the median of the per-round ratios B/A with its spread, and
 * checks that both give the same loss from the same start (a speed-up that changes the math is not
 * one). For "each change measured against its parent in the same run":
 *
 *   git worktree add /tmp/parent HEAD~1 && ln -s $PWD/node_modules /tmp/parent/node_modules
 *   (cd /tmp/parent && npx tsc -p tsconfig.build.json && node dist/cli/main.js build --preset cae-small --batch 16 --out /tmp/a)
 *   node dist/cli/main.js build --preset cae-small --batch 16 --out /tmp/b
 *   npm run bench:build && node dist-bench/bench/train-step-ab.js --a /tmp/a --b /tmp/b [--rounds 20] [--threads 2]
 */
import * as path from 'node:path';
import { readManifest } from '../src/artifacts/manifest';
import { readSafetensors } from '../src/artifacts/safetensors';
import { Rng } from '../src/random/rng';
import { StepSession, stepScalars, TRAIN_SESSION_DEFAULTS } from '../src/runtime/train/step-session';
import { randomFeeds } from './train-step-measure';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function open(build: string, threads: number): Promise<StepSession> {
  const manifest = readManifest(build);
  const names = new Set(manifest.params.map((p) => p.name));
  const params = readSafetensors(path.join(build, 'params.safetensors'), {
    names: (n) => names.has(n),
  }).tensors;
  return StepSession.create(path.join(build, 'train_step.onnx'), params, {
    threads,
    ...TRAIN_SESSION_DEFAULTS,
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (f: string, d?: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
  const [a, b] = [arg('--a'), arg('--b')];
  if (!a || !b)
    throw new Error('usage: train-step-ab.js --a BUILD_A --b BUILD_B [--rounds 20] [--threads 2]');
  const rounds = Number(arg('--rounds', '20'));
  const threads = Number(arg('--threads', '2'));
  const config = readManifest(a).config;
  if (JSON.stringify(config) !== JSON.stringify(readManifest(b).config))
    throw new Error('the two builds are of different models (manifest configs differ)');
  const feeds = randomFeeds(config, new Rng(1));
  const sessions = { a: await open(a, threads), b: await open(b, threads) };
  const times: Record<'a' | 'b', number[]> = { a: [], b: [] };
  const losses: Record<'a' | 'b', number[]> = { a: [], b: [] };
  const warmup = 2;
  for (let r = 0; r < rounds + warmup; r++) {
    for (const side of r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      const t = performance.now();
      const out = await sessions[side].run({ ...feeds, ...stepScalars(1e-4, r + 1) });
      if (r >= warmup) times[side].push((performance.now() - t) / 1000);
      losses[side].push(Number(out.loss.data[0]));
    }
  }
  await sessions.a.release();
  await sessions.b.release();
  const ratios = times.a.map((ta, i) => times.b[i] / ta);
  const sorted = [...ratios].sort((x, y) => x - y);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  const lossGap = Math.max(...losses.a.map((l, i) => Math.abs(l - losses.b[i]) / Math.abs(l)));
  const result = {
    preset: config.preset,
    batch: config.batch,
    threads,
    rounds,
    secondsPerStep: { a: median(times.a), b: median(times.b) },
    ratioBOverA: { median: median(ratios), p25: q(0.25), p75: q(0.75) },
    maxRelativeLossGap: lossGap,
  };
  console.log(JSON.stringify(result));
  console.log(
    `${config.preset} batch ${config.batch}: A ${result.secondsPerStep.a.toFixed(4)} s/step, B ${result.secondsPerStep.b.toFixed(4)} s/step; ` +
      `B/A median ${result.ratioBOverA.median.toFixed(3)} (quartiles ${result.ratioBOverA.p25.toFixed(3)}-${result.ratioBOverA.p75.toFixed(3)}) over ${rounds} rounds; ` +
      `losses agree to ${lossGap.toExponential(1)} (relative)`,
  );
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
