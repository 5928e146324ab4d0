/**
 * Summarizes an onnxruntime profile (the JSON written with enableProfiling): kernel time per op type
 * and run, largest first, over the steady runs only. The first run is left out: it allocates every
 * buffer and touches its pages for the first time (on cae-small it took 4.0 s against 2.5-2.8 s for
 * the runs after it, its Mul kernels 2.1x as long), which, averaged in, misstated the shares.
 *
 *   node dist-bench/bench/profile-summary.js PROFILE.json [--warmup-runs 1]
 */
import * as fs from 'node:fs';

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

/** Whether `ts` falls inside one of `runs` (sorted by start, not overlapping). */
function insideAny(runs: readonly ProfileEvent[], ts: number): boolean {
  let [lo, hi] = [0, runs.length - 1];
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid].ts > ts) hi = mid - 1;
    else if (runs[mid].ts + runs[mid].dur < ts) lo = mid + 1;
    else return true;
  }
  return false;
}

export function summarize(file: string, top = 25, warmupRuns = 1): string {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
  const allRuns = events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .sort((a, b) => a.ts - b.ts);
  // With no run after the warm-up, the warm-up is all there is: summarize it rather than nothing.
  const left = allRuns.length > warmupRuns ? warmupRuns : 0;
  const runs = allRuns.slice(left);
  const perRun = (us: number) => us / 1000 / Math.max(runs.length, 1);
  const byOp = new Map<string, { us: number; count: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !insideAny(runs, e.ts)) continue;
    const opName = e.args?.op_name ?? '?';
    const entry = byOp.get(opName) ?? { us: 0, count: 0 };
    entry.us += e.dur;
    entry.count++;
    byOp.set(opName, entry);
  }
  const kernelUs = [...byOp.values()].reduce((s, v) => s + v.us, 0);
  const runUs = runs.reduce((s, r) => s + r.dur, 0);
  const lines = [...byOp]
    .sort((a, b) => b[1].us - a[1].us)
    .slice(0, top)
    .map(
      ([name, v]) =>
        `${name.padEnd(28)} ${perRun(v.us).toFixed(1).padStart(9)} ms/run  ${((100 * v.us) / kernelUs).toFixed(1).padStart(5)}%  (${v.count / Math.max(runs.length, 1)} nodes)`,
    );
  return [
    `runs: ${runs.length}${left ? ` (the first ${left} left out: warm-up)` : ''}, model_run ${perRun(runUs).toFixed(1)} ms/run, kernels ${perRun(kernelUs).toFixed(1)} ms/run`,
    ...lines,
  ].join('\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--warmup-runs');
  console.log(summarize(argv[0], 25, at >= 0 ? Number(argv[at + 1]) : 1));
}
