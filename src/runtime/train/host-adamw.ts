import type { OptimizerSpec } from '../../artifacts/manifest';

export interface HostParam {
  readonly name: string;
  readonly value: Float32Array;
  readonly grad: Float32Array;
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
  readonly weightDecay: boolean;
  /** Multiplier of the learning rate (layer-wise decay), as the train_step graph applies it. */
  readonly lrScale: number;
}

/**
 * The train_step graph's AdamW (+ clip_grad_norm_) on the host, in place, for steps whose gradients
 * come from grad_step (gradient accumulation). Same formulas as optim/adamw.ts. Returns the
 * unclipped global gradient norm.
 */
export function hostAdamWStep(
  params: readonly HostParam[],
  spec: OptimizerSpec,
  lr: number,
  step: number,
): number {
  let sq = 0;
  for (const p of params) for (let i = 0; i < p.grad.length; i++) sq += p.grad[i] * p.grad[i];
  const norm = Math.sqrt(sq);
  const coef = spec.clipGradNorm === undefined ? 1 : Math.min(spec.clipGradNorm / (norm + 1e-6), 1);
  const { beta1, beta2, eps, weightDecay } = spec;
  const invSqrtBc2 = 1 / Math.sqrt(1 - beta2 ** step);
  for (const p of params) {
    const paramLr = lr * p.lrScale;
    const stepSize = paramLr / (1 - beta1 ** step);
    const decay = p.weightDecay ? 1 - paramLr * weightDecay : 1;
    const { value, grad, expAvg, expAvgSq } = p;
    for (let i = 0; i < value.length; i++) {
      const g = grad[i] * coef;
      const m = beta1 * expAvg[i] + (1 - beta1) * g;
      const v = beta2 * expAvgSq[i] + (1 - beta2) * g * g;
      expAvg[i] = m;
      expAvgSq[i] = v;
      value[i] = value[i] * decay - (stepSize * m) / (Math.sqrt(v) * invSqrtBc2 + eps);
    }
  }
  return norm;
}
