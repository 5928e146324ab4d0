import type { TrainOptions, TrainResult } from './run-options';
import { prepareRun } from './run-setup';
import { learningRate } from './schedule';
import { microBatchRng } from './step-inputs';
import { anyRank } from '../distributed/process-group';
import { StopSignals } from './stop-signals';
export type { RunOptions, TrainOptions, TrainResult } from './run-options';

/** A non-finite loss: the run stops and the last good checkpoint stays. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

/**
 * The training loop: per update, the learning rate and the step's own generator (seed, step), the
 * task's inputs for each micro-batch (masks and drop path, or mixup), one update by the step engine,
 * the task's evaluation when due, the report, and checkpoints by the policy. Setup, engines, report
 * and checkpoint policy live beside it (run-setup.ts, *-step-engine.ts, run-report.ts,
 * checkpoint-policy.ts).
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const { group, leader, say, start, task, loader, engine, report, checkpoints } = await prepareRun(o);
  const { run } = start;
  const signals = new StopSignals(say);

  const losses: number[] = [];
  let step = start.step;
  let data = start.data;
  let epoch = data.epoch;
  let interrupted = false;
  const more = () => {
    if (step >= run.steps || (o.stopAfter !== undefined && step - start.step >= o.stopAfter)) return false;
    // Every rank stops after the same update, whichever of them a signal reached.
    interrupted = anyRank(group, signals.stopped);
    return !interrupted;
  };
  try {
    while (more()) {
      const next = step + 1;
      const lr = learningRate(run.schedule, next);
      const t0 = performance.now();
      const result = await engine.step(
        async (micro) => {
          const batch = await loader.next();
          [epoch, data] = [batch.epoch, batch.next];
          return task.feeds(batch, microBatchRng(run.seed, next, micro));
        },
        lr,
        next,
      );
      if (!Number.isFinite(result.loss)) throw nonFinite(next, lr, checkpoints.newest);
      step = next;
      losses.push(result.loss);
      const seconds = (performance.now() - t0) / 1000;
      const evaluation = leader
        ? await task.evaluate?.(step, async () => (await engine.snapshot()).params)
        : undefined;
      report.record({ step, epoch, lr, seconds, result, evaluation });
      await checkpoints.afterStep(step, data, result.loss);
    }
    await checkpoints.atStop(step, data, losses.at(-1));
  } catch (e) {
    // A diverged run still leaves its report: the curves up to the last finite step.
    if (leader && e instanceof NonFiniteLossError) await report.finish(checkpoints.newest);
    throw e;
  } finally {
    signals.dispose();
    report.flush();
    await loader.close();
    await engine.release();
    await task.release();
  }
  const reportFile = leader ? await report.finish(checkpoints.newest) : undefined;
  const skipped = loader.stats();
  if (skipped.skipped > 0) {
    say(
      `skipped ${skipped.skipped} unreadable images: ${skipped.skippedFiles.slice(0, 5).join(', ')}${skipped.skipped > 5 ? ', ...' : ''}`,
    );
  }
  return {
    lastStep: step,
    losses,
    checkpoint: checkpoints.newest,
    interrupted,
    skippedImages: skipped.skipped,
    report: reportFile,
  };
}

function nonFinite(step: number, lr: number, checkpoint: string | undefined): NonFiniteLossError {
  return new NonFiniteLossError(
    `the loss became non-finite at step ${step} (lr ${lr.toExponential(2)}); stopping. ` +
      (checkpoint ? `The last good checkpoint is ${checkpoint}.` : 'No checkpoint was written yet.') +
      ' Try a lower --lr or a longer warmup.',
  );
}
