/**
 * A/B of two session configurations of one build: its train_step graph opened twice and run
 * alternately, one step each per round (as train-step-ab.ts does for two builds), so both see the
 * same moments of this shared VM. B differs from A (the trainer's settings) in its thread options.
 * For issue "Performance II"'s question of intra-op vs inter-op threads on small independent ops:
 *
 *   node dist/cli/main.js build --preset cae-tiny-28 --batch 128 --out /tmp/tiny
 *   npm run bench:build && node dist-bench/bench/session-options-ab.js --build /tmp/tiny --b-inter 2 [--b-threads 1] [--rounds 40]
 *
 * With --a-fresh-state, A instead carries its state as the tensors ORT allocates for every step's
 * outputs (StepSession's device-state path on the CPU: the host path before it wrote the outputs
 * into its own two sets of buffers), and B is the trainer's host path:
 *
 *   node dist-bench/bench/session-options-ab.js --build /tmp/small --a-fresh-state --rounds 12
 */
import { readManifest } from '../src/artifacts/manifest';
import { Rng } from '../src/random/rng';
import type { SessionConfig } from '../src/runtime/session';
import { TRAIN_SESSION_DEFAULTS } from '../src/runtime/train/step-session';
import { openTrainStep, pairedSummary, runPaired } from './paired-steps';
import { randomFeeds } from './train-step-measure';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (f: string, d?: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
  const build = arg('--build');
  if (!build) {
    throw new Error(
      'usage: session-options-ab.js --build DIR [--threads 2] [--b-threads N] [--b-inter N] [--a-fresh-state] [--rounds 20]',
    );
  }
  const rounds = Number(arg('--rounds', '20'));
  const threads = Number(arg('--threads', '2'));
  const configs: Record<'a' | 'b', SessionConfig> = {
    a: { ...TRAIN_SESSION_DEFAULTS, threads },
    b: {
      ...TRAIN_SESSION_DEFAULTS,
      threads: Number(arg('--b-threads', String(threads))),
      interOpThreads: Number(arg('--b-inter', '1')),
    },
  };
  const freshState = argv.includes('--a-fresh-state');
  const sessions = {
    a: await openTrainStep(build, configs.a, { deviceState: freshState }),
    b: await openTrainStep(build, configs.b),
  };
  const paired = await runPaired(sessions, randomFeeds(readManifest(build).config, new Rng(1)), rounds);
  console.log(JSON.stringify({ build, configs, aFreshState: freshState, rounds, ...paired }));
  console.log(pairedSummary(build, rounds, paired));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
