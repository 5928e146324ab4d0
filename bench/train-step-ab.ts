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
import { readManifest } from '../src/artifacts/manifest';
import { Rng } from '../src/random/rng';
import { TRAIN_SESSION_DEFAULTS } from '../src/runtime/train/step-session';
import { openTrainStep, pairedSummary, runPaired } from './paired-steps';
import { randomFeeds } from './train-step-measure';

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
  const session = { ...TRAIN_SESSION_DEFAULTS, threads };
  const sessions = { a: await openTrainStep(a, session), b: await openTrainStep(b, session) };
  const paired = await runPaired(sessions, randomFeeds(config, new Rng(1)), rounds);
  console.log(JSON.stringify({ preset: config.preset, batch: config.batch, threads, rounds, ...paired }));
  console.log(pairedSummary(`${config.preset} batch ${config.batch}`, rounds, paired));
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
