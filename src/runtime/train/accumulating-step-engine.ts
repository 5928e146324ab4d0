import type { Manifest } from '../../artifacts/manifest';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { gradOutputName, stateInputName } from '../../graph-builder/training/step-graphs';
import { ModelSession, SessionConfig } from '../session';
import { hostAdamWStep, HostParam } from './host-adamw';
import { scalar, StepEngine, StepResult, TrainingState } from './step-engine';

/**
 * Gradient accumulation: grad_step on each micro-batch, gradients averaged on the host, then the
 * train_step graph's AdamW (per-parameter lr scales and clipping included) applied on the host.
 */
export class AccumulatingStepEngine implements StepEngine {
  private constructor(
    private readonly manifest: Manifest,
    private readonly session: ModelSession,
    private readonly host: HostParam[],
    /** Frozen (non-trainable) parameters, fed as they are. */
    private readonly frozen: Map<string, TensorData>,
    private readonly terms: readonly string[],
    readonly microBatches: number,
  ) {}

  static async create(
    manifest: Manifest,
    gradStep: string,
    start: TrainingState,
    terms: readonly string[],
    microBatches: number,
    config: SessionConfig,
  ): Promise<AccumulatingStepEngine> {
    const host = manifest.params
      .filter((p) => p.trainable)
      .map((p) => {
        const n = (p.shape as number[]).reduce((a, b) => a * b, 1);
        const state = (slot: string) =>
          Float32Array.from(
            (start.optimizer.get(stateInputName(slot, p.name))?.data as Float32Array | undefined) ??
              new Float32Array(n),
          );
        return {
          name: p.name,
          value: Float32Array.from(start.params.get(p.name)!.data as Float32Array),
          grad: new Float32Array(n),
          expAvg: state('exp_avg'),
          expAvgSq: state('exp_avg_sq'),
          weightDecay: p.weightDecay,
          lrScale: p.lrScale ?? 1,
        };
      });
    const frozen = new Map(
      manifest.params.filter((p) => !p.trainable).map((p) => [p.name, start.params.get(p.name)!]),
    );
    const session = await ModelSession.create(gradStep, config);
    return new AccumulatingStepEngine(manifest, session, host, frozen, terms, microBatches);
  }

  private tensor(name: string, data: Float32Array): TensorData {
    return tensorData('float32', this.manifest.params.find((p) => p.name === name)!.shape as number[], data);
  }

  async step(
    nextFeeds: () => Promise<Record<string, TensorData>>,
    lr: number,
    step: number,
  ): Promise<StepResult> {
    const k = this.microBatches;
    for (const h of this.host) h.grad.fill(0);
    let loss = 0;
    const terms: Record<string, number> = Object.fromEntries(this.terms.map((t) => [t, 0]));
    const params = {
      ...Object.fromEntries(this.frozen),
      ...Object.fromEntries(this.host.map((h) => [h.name, this.tensor(h.name, h.value)])),
    };
    for (let i = 0; i < k; i++) {
      const out = await this.session.run({ ...(await nextFeeds()), ...params });
      for (const h of this.host) {
        const g = out[gradOutputName(h.name)].data as Float32Array;
        for (let j = 0; j < g.length; j++) h.grad[j] += g[j] / k;
      }
      loss += scalar(out.loss) / k;
      for (const t of this.terms) terms[t] += scalar(out[t]) / k;
    }
    // A non-finite loss leaves the parameters alone: the trainer stops at the last good checkpoint.
    if (!Number.isFinite(loss)) return { loss, terms, gradNorm: NaN };
    return { loss, terms, gradNorm: hostAdamWStep(this.host, this.manifest.optimizer, lr, step) };
  }

  async snapshot(): Promise<TrainingState> {
    const params = new Map(this.frozen);
    for (const h of this.host) params.set(h.name, this.tensor(h.name, h.value));
    const optimizer = new Map(
      this.host.flatMap((h) => [
        [stateInputName('exp_avg', h.name), this.tensor(h.name, h.expAvg)],
        [stateInputName('exp_avg_sq', h.name), this.tensor(h.name, h.expAvgSq)],
      ]),
    );
    // In the manifest's order, as the fused engine returns them.
    return { params: new Map(this.manifest.params.map((p) => [p.name, params.get(p.name)!])), optimizer };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
