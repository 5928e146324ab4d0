/**
 * A/B of two session configurations of one build: its train_step graph opened twice and run
 * alternately, one step each per round (as train-step-ab.ts does for two builds), so both see the
 * same moments of this shared VM. B differs from A (the trainer's settings) in its thread options.
 * For issue "Performance II"'s question of intra-op vs inter-op threads on small independent ops:
 *
 *   node dist/cli/main.js build --preset cae-tiny-28 --batch 128 --out /tmp/tiny
 *   npm run bench:build && node dist-bench/bench/session-options-ab.js --build /tmp/tiny --b-inter 2 [--b-threads 1] [--rounds 40]
 */
import * as path from 'node:path';
import { readManifest } from '../src/artifacts/manifest';
import { readSafetensors } from '../src/artifacts/safetensors';
import { Rng } from '../src/random/rng';
import type { SessionConfig } from '../src/runtime/session';
import { StepSession, stepScalars, TRAIN_SESSION_DEFAULTS } from '../src/runtime/train/step-session';
import { randomFeeds } from './train-step-measure';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (f: string, d?: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
  const build = arg('--build');
  if (!build) {
    throw new Error(
      'usage: session-options-ab.js --build DIR [--threads 2] [--b-threads N] [--b-inter N] [--rounds 20]',
    );
  }
  const rounds = Number(arg('--rounds', '20'));
  const threads = Number(arg('--threads', '2'));
  const manifest = readManifest(build);
  const names = new Set(manifest.params.map((p) => p.name));
  const params = readSafetensors(path.join(build, 'params.safetensors'), {
    names: (n) => names.has(n),
  }).tensors;
  const configs: Record<'a' | 'b', SessionConfig> = {
    a: { ...TRAIN_SESSION_DEFAULTS, threads },
    b: {
      ...TRAIN_SESSION_DEFAULTS,
      threads: Number(arg('--b-threads', String(threads))),
      interOpThreads: Number(arg('--b-inter', '1')),
    },
  };
  const model = path.join(build, 'train_step.onnx');
  const sessions = {
    a: await StepSession.create(model, params, configs.a),
    b: await StepSession.create(model, params, configs.b),
  };
  const feeds = randomFeeds(manifest.config, new Rng(1));
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
  const ratios = times.a.map((ta, i) => times.b[i] / ta).sort((x, y) => x - y);
  const quantile = (f: number) => ratios[Math.floor(f * (ratios.length - 1))];
  const maxLossRelDiff = Math.max(...losses.a.map((l, i) => Math.abs(l - losses.b[i]) / Math.abs(l)));
  console.log(
    JSON.stringify({
      build,
      configs,
      rounds,
      medianSecondsA: median(times.a),
      medianSecondsB: median(times.b),
      ratioBA: median(ratios),
      ratioQuartiles: [quantile(0.25), quantile(0.75)],
      maxLossRelDiff,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
