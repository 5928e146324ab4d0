import type { Manifest } from '../../artifacts/manifest';
import type { TensorData } from '../../graph-builder/core/tensor-data';
import type { SessionConfig } from '../session';
import { StepEngine, StepResult, stepResult, TrainingState } from './step-engine';
import { StepSession, stepScalars } from './step-session';

/**
 * The fused train_step: forward, backward and AdamW in one session run, parameters and optimizer
 * state carried from each step's outputs to the next step's inputs. On WebGPU they stay on the GPU
 * between steps (StepSession's device state) and snapshots download them.
 */
export class FusedStepEngine implements StepEngine {
  readonly microBatches = 1;

  private constructor(
    private readonly manifest: Manifest,
    private readonly session: StepSession,
    private readonly terms: readonly string[],
  ) {}

  static async create(
    manifest: Manifest,
    trainStep: string,
    start: TrainingState,
    terms: readonly string[],
    config: SessionConfig,
  ): Promise<FusedStepEngine> {
    const initial = new Map<string, TensorData>([...start.params, ...start.optimizer]);
    return new FusedStepEngine(manifest, await StepSession.create(trainStep, initial, config), terms);
  }

  async step(
    nextFeeds: (micro: number) => Promise<Record<string, TensorData>>,
    lr: number,
    step: number,
  ): Promise<StepResult> {
    const out = await this.session.run({ ...(await nextFeeds(0)), ...stepScalars(lr, step) });
    return stepResult(out, this.terms);
  }

  async snapshot(): Promise<TrainingState> {
    const all = await this.session.snapshot();
    const names = new Set(this.manifest.params.map((p) => p.name));
    return {
      params: new Map(this.manifest.params.map((p) => [p.name, all.get(p.name)!])),
      optimizer: new Map([...all].filter(([k]) => !names.has(k))),
    };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
