import type { Manifest } from '../../artifacts/manifest';
import type { StreamPosition } from '../data/order';
import { TrainState, writeCheckpoint } from './checkpoint';
import type { RunOptions } from './run-options';
import type { StepEngine } from './step-engine';

/**
 * When a run writes checkpoints: every `checkpointEvery` updates, and once more when it stops (end,
 * signal, stopAfter) unless the newest checkpoint is already of that step. Each holds the engine's
 * state and what resuming needs: the step, the data position, the run's options, the time spent.
 */
export class CheckpointPolicy {
  private last?: { step: number; dir: string };
  private readonly started = performance.now();

  constructor(
    private readonly runDir: string,
    private readonly manifest: Manifest,
    private readonly run: RunOptions,
    private readonly engine: StepEngine,
    private readonly o: {
      readonly startStep: number;
      readonly elapsedSeconds: number;
      readonly beforeWrite: () => void;
      /** Whether this process writes checkpoints (rank 0 of a data-parallel run). */
      readonly writes: boolean;
    },
  ) {}

  get newest(): string | undefined {
    return this.last?.dir;
  }

  async afterStep(step: number, data: StreamPosition, lastLoss: number): Promise<void> {
    if (step % this.run.checkpointEvery === 0) await this.write(step, data, lastLoss);
  }

  async atStop(step: number, data: StreamPosition, lastLoss: number | undefined): Promise<void> {
    if (step > this.o.startStep && this.last?.step !== step) await this.write(step, data, lastLoss);
  }

  private async write(step: number, data: StreamPosition, lastLoss: number | undefined): Promise<void> {
    if (!this.o.writes) return;
    this.o.beforeWrite();
    const state: TrainState<RunOptions> = {
      step,
      data,
      seed: this.run.seed,
      totalSteps: this.run.steps,
      options: this.run,
      elapsedSeconds: this.o.elapsedSeconds + (performance.now() - this.started) / 1000,
      lastLoss,
    };
    const { params, optimizer } = await this.engine.snapshot();
    this.last = { step, dir: writeCheckpoint(this.runDir, this.manifest, params, optimizer, state) };
  }
}
