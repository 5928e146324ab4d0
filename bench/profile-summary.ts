/**
 * Summarizes an onnxruntime profile (the JSON written with enableProfiling): total kernel time per
 * op type, largest first, and the share of the run's wall time spent outside kernels.
 *
 *   node dist-bench/bench/profile-summary.js PROFILE.json
 */
import * as fs from 'node:fs';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

export function summarize(file: string, top = 25): string {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
  const byOp = new Map<string, { us: number; count: number }>();
  let runs = 0;
  let runUs = 0;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') {
      runs++;
      runUs += e.dur;
    }
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const opName = e.args?.op_name ?? '?';
    const entry = byOp.get(opName) ?? { us: 0, count: 0 };
    entry.us += e.dur;
    entry.count++;
    byOp.set(opName, entry);
  }
  const kernelUs = [...byOp.values()].reduce((s, v) => s + v.us, 0);
  const lines = [...byOp]
    .sort((a, b) => b[1].us - a[1].us)
    .slice(0, top)
    .map(
      ([name, v]) =>
        `${name.padEnd(28)} ${(v.us / 1000 / Math.max(runs, 1)).toFixed(1).padStart(9)} ms/run  ${((100 * v.us) / kernelUs).toFixed(1).padStart(5)}%  (${v.count / Math.max(runs, 1)} nodes)`,
    );
  return [
    `runs: ${runs}, model_run ${(runUs / 1000 / Math.max(runs, 1)).toFixed(1)} ms/run, kernels ${(kernelUs / 1000 / Math.max(runs, 1)).toFixed(1)} ms/run`,
    ...lines,
  ].join('\n');
}

if (require.main === module) console.log(summarize(process.argv[2]));
