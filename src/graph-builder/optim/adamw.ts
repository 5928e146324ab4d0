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
 * written with as few passes over the parameters as plain ONNX ops allow (13; each is a full read
 * and write of a parameter-sized tensor, the optimizer's whole cost on CPU): the gradient's scale
 * (clipping) is folded into the (1 - b1) and (1 - b2) factors, and the last line is computed as
 *   p <- p - (lr * sqrt(1 - b2^t) / (1 - b1^t)) * m / (sqrt(v) + eps * sqrt(1 - b2^t)),
 * equal in exact arithmetic and one pass shorter.
 */
export function adamw(config: Partial<AdamWConfig> = {}): Optimizer {
  const { beta1, beta2, eps, weightDecay } = { ...ADAMW_DEFAULTS, ...config };
  return {
    name: 'adamw',
    stateSlots: ['exp_avg', 'exp_avg_sq'],
    prepare: ({ lr, step }) => {
      const bc1 = op.sub(1, op.pow(lr.graph.scalar(beta1, 'float32'), step));
      const sqrtBc2 = op.sqrt(op.sub(1, op.pow(lr.graph.scalar(beta2, 'float32'), step)));
      return {
        stepSize: op.mul(op.div(lr, bc1), sqrtBc2),
        eps: op.mul(sqrtBc2, eps),
        decay: op.sub(1, op.mul(lr, weightDecay)),
      };
    },
    update: (param, p, g, state, shared, gradScale) => {
      const decayed = param.weightDecay && weightDecay !== 0 ? op.mul(p, shared.decay) : p;
      const c1 = gradScale ? op.mul(gradScale, 1 - beta1) : 1 - beta1;
      const c2 = gradScale ? op.mul(op.mul(gradScale, gradScale), 1 - beta2) : 1 - beta2;
      const m = op.add(op.mul(state.exp_avg, beta1), op.mul(g, c1));
      const v = op.add(op.mul(state.exp_avg_sq, beta2), op.mul(op.mul(g, g), c2));
      const denom = op.add(op.sqrt(v), shared.eps);
      const next = op.sub(decayed, op.mul(op.div(m, denom), shared.stepSize));
      return { param: next, state: { exp_avg: m, exp_avg_sq: v } };
    },
  };
}
