import * as path from 'node:path';
import { ExecutionProviderError } from '../runtime/execution-providers';
import type { ProcessGroup } from '../runtime/distributed/process-group';
import { CURVE_FILE } from '../runtime/report/write-run-report';
import { METRICS_FILE } from '../runtime/train/metrics-log';
import { NonFiniteLossError, train, TrainOptions, TrainResult } from '../runtime/train/trainer';
import { progressLine } from './progress-line';

/**
 * train() as `cae-onnx train` and `cae-onnx finetune` run it: a status line (rank 0), a non-finite
 * loss or a failing provider as one line and exit 3, the checkpoint and metrics lines at the end,
 * and exit 130 naming `--resume` when a signal stopped the run. Returns only for a finished run.
 */
export async function runTrainingCommand(
  command: 'train' | 'finetune',
  o: Omit<TrainOptions, 'status' | 'group'> & { readonly group: ProcessGroup },
): Promise<TrainResult> {
  const progress = progressLine();
  const say = (line: string) => {
    progress.end();
    o.say(line);
  };
  let result: TrainResult;
  try {
    result = await train({ ...o, say, status: o.group.rank === 0 ? progress.update : () => undefined });
  } catch (e) {
    progress.end();
    if (e instanceof NonFiniteLossError || e instanceof ExecutionProviderError) {
      process.stderr.write(`cae-onnx: ${e.message}\n`);
      process.exit(3);
    }
    throw e;
  }
  progress.end();
  say(`checkpoint: ${result.checkpoint ?? '(none)'}`);
  say(`metrics: ${path.join(o.runDir, METRICS_FILE)}, curves: ${path.join(o.runDir, CURVE_FILE)}`);
  if (result.report) say(`report: ${result.report} (open it in a browser)`);
  if (result.interrupted) {
    say(`stopped at step ${result.lastStep}; continue with: cae-onnx ${command} --resume ${o.runDir}`);
    o.group.finalize();
    process.exit(130);
  }
  return result;
}
