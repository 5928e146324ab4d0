import * as op from '../ops';
import type { Optimizer } from './optimizer';

export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Decoupled weight decay, applied to parameters whose `weightDecay` flag is set. */
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };

/**
 * AdamW exactly as torch.optim.AdamW (amsgrad off, maximize off):
 *   p <- p * (1 - lr * wd)                       (decoupled decay, masked per parameter)
 *   m <- b1 * m + (1 - b1) * g;  v <- b2 * v + (1 - b2) * g^2
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)      (eps outside the sqrt)
 */
export function adamw(config: Partial<AdamWConfig> = {}): Optimizer {
  const { beta1, beta2, eps, weightDecay } = { ...ADAMW_DEFAULTS, ...config };
  return {
    name: 'adamw',
    stateSlots: ['exp_avg', 'exp_avg_sq'],
    prepare: ({ lr, step }) => {
      const bc1 = op.sub(1, op.pow(lr.graph.scalar(beta1, 'float32'), step));
      const bc2 = op.sub(1, op.pow(lr.graph.scalar(beta2, 'float32'), step));
      return {
        stepSize: op.div(lr, bc1),
        invSqrtBc2: op.reciprocal(op.sqrt(bc2)),
        decay: op.sub(1, op.mul(lr, weightDecay)),
      };
    },
    update: (param, p, g, state, shared) => {
      const decayed = param.weightDecay && weightDecay !== 0 ? op.mul(p, shared.decay) : p;
      const m = op.add(op.mul(state.exp_avg, beta1), op.mul(g, 1 - beta1));
      const v = op.add(op.mul(state.exp_avg_sq, beta2), op.mul(op.mul(g, g), 1 - beta2));
      const denom = op.add(op.mul(op.sqrt(v), shared.invSqrtBc2), eps);
      const next = op.sub(decayed, op.mul(shared.stepSize, op.div(m, denom)));
      return { param: next, state: { exp_avg: m, exp_avg_sq: v } };
    },
  };
}
