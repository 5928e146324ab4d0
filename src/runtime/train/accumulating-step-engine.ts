import type { Manifest } from '../../artifacts/manifest';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { gradOutputName, stateInputName } from '../../graph-builder/training/step-graphs';
import { mix32 } from '../../random/hash';
import { ProcessGroup, SINGLE_PROCESS } from '../distributed/process-group';
import { ModelSession, SessionConfig } from '../session';
import { hostAdamWStep, HostParam } from './host-adamw';
import { scalar, StepEngine, StepResult, TrainingState } from './step-engine';

/** The ranks' parameters differ after an update: data parallelism went wrong. */
export class ParameterDivergenceError extends Error {
  override name = 'ParameterDivergenceError';
}

/** Updates between the data-parallel parameter checks. */
export const CHECKSUM_EVERY = 50;

/**
 * Gradient accumulation, and data parallelism over a process group: grad_step on each of this rank's
 * micro-batches, gradients (and loss terms) summed into one flat buffer scaled by 1 / (micro-batches
 * of the whole update), summed over the ranks by one all-reduce, then the train_step graph's AdamW
 * (per-parameter lr scales and clipping included) on the host, identically on every rank. Every
 * CHECKSUM_EVERY updates the ranks compare a hash of their parameters and stop on a difference.
 */
export class AccumulatingStepEngine implements StepEngine {
  private readonly shapes: Map<string, number[]>;

  private constructor(
    private readonly manifest: Manifest,
    private readonly session: ModelSession,
    private readonly host: HostParam[],
    /** Gradients of every parameter, then the loss and the terms: what the all-reduce sums. */
    private readonly flat: Float32Array,
    /** Frozen (non-trainable) parameters, fed as they are. */
    private readonly frozen: Map<string, TensorData>,
    private readonly terms: readonly string[],
    readonly microBatches: number,
    private readonly group: ProcessGroup,
  ) {
    this.shapes = new Map(manifest.params.map((p) => [p.name, p.shape as number[]]));
  }

  /** `microBatches` of this rank per update; the update's total is that times the group's size. */
  static async create(
    manifest: Manifest,
    gradStep: string,
    start: TrainingState,
    terms: readonly string[],
    microBatches: number,
    config: SessionConfig,
    group: ProcessGroup = SINGLE_PROCESS,
  ): Promise<AccumulatingStepEngine> {
    const trainable = manifest.params.filter((p) => p.trainable);
    const sizes = trainable.map((p) => (p.shape as number[]).reduce((a, b) => a * b, 1));
    const total = sizes.reduce((a, b) => a + b, 0);
    const flat = new Float32Array(total + 1 + terms.length);
    let offset = 0;
    const host = trainable.map((p, k) => {
      const n = sizes[k];
      const state = (slot: string) =>
        Float32Array.from(
          (start.optimizer.get(stateInputName(slot, p.name))?.data as Float32Array | undefined) ??
            new Float32Array(n),
        );
      const grad = flat.subarray(offset, offset + n);
      offset += n;
      return {
        name: p.name,
        value: Float32Array.from(start.params.get(p.name)!.data as Float32Array),
        grad,
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
    return new AccumulatingStepEngine(manifest, session, host, flat, frozen, terms, microBatches, group);
  }

  private tensor(name: string, data: Float32Array): TensorData {
    return tensorData('float32', this.shapes.get(name)!, data);
  }

  async step(
    nextFeeds: (micro: number) => Promise<Record<string, TensorData>>,
    lr: number,
    step: number,
  ): Promise<StepResult> {
    const k = this.microBatches;
    const all = k * this.group.size;
    this.flat.fill(0);
    const scalars = this.flat.subarray(this.flat.length - 1 - this.terms.length); // [loss, ...terms]
    const params = {
      ...Object.fromEntries(this.frozen),
      ...Object.fromEntries(this.host.map((h) => [h.name, this.tensor(h.name, h.value)])),
    };
    for (let i = 0; i < k; i++) {
      const out = await this.session.run({ ...(await nextFeeds(this.group.rank * k + i)), ...params });
      for (const h of this.host) {
        const g = out[gradOutputName(h.name)].data as Float32Array;
        for (let j = 0; j < g.length; j++) h.grad[j] += g[j] / all;
      }
      scalars[0] += scalar(out.loss) / all;
      this.terms.forEach((t, j) => (scalars[1 + j] += scalar(out[t]) / all));
    }
    const reduceStart = performance.now();
    this.group.allreduceSum(this.flat);
    const allreduceSeconds = this.group.size > 1 ? (performance.now() - reduceStart) / 1000 : undefined;
    const loss = scalars[0];
    const terms = Object.fromEntries(this.terms.map((t, j) => [t, scalars[1 + j]]));
    // A non-finite loss leaves the parameters alone: the trainer stops at the last good checkpoint.
    if (!Number.isFinite(loss)) return { loss, terms, gradNorm: NaN, allreduceSeconds };
    const gradNorm = hostAdamWStep(this.host, this.manifest.optimizer, lr, step);
    if (this.group.size > 1 && step % CHECKSUM_EVERY === 0) this.checkRanksAgree(step);
    return { loss, terms, gradNorm, allreduceSeconds };
  }

  /** Compares a hash of the parameters across ranks (as two 16-bit halves, exact in float32 sums). */
  private checkRanksAgree(step: number): void {
    let h = 0;
    for (const p of this.host) {
      const words = new Uint32Array(p.value.buffer, p.value.byteOffset, p.value.length);
      for (let i = 0; i < words.length; i++) h = mix32(h ^ words[i]);
    }
    const mine = [h & 0xffff, h >>> 16];
    const sums = Float32Array.from(mine);
    this.group.allreduceSum(sums);
    if (sums[0] !== mine[0] * this.group.size || sums[1] !== mine[1] * this.group.size) {
      throw new ParameterDivergenceError(
        `after update ${step} the parameters of rank ${this.group.rank} differ from another rank's: stopping (the last checkpoint is from before)`,
      );
    }
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
