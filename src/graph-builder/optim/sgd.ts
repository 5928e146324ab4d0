import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import type { Optimizer } from './optimizer';

export interface SgdConfig {
  readonly momentum: number;
  readonly nesterov: boolean;
  /** Coupled (L2) weight decay as torch.optim.SGD, on parameters whose `weightDecay` flag is set. */
  readonly weightDecay: number;
}

/**
 * SGD as torch.optim.SGD with dampening 0: g <- g + wd * p; buf <- momentum * buf + g;
 * p <- p - lr * (nesterov ? g + momentum * buf : buf). A zero-initialized buffer gives PyTorch's
 * first step (buf = g) exactly.
 */
export function sgd(config: Partial<SgdConfig> = {}): Optimizer {
  const { momentum, nesterov, weightDecay } = { momentum: 0.9, nesterov: false, weightDecay: 0, ...config };
  if (nesterov && momentum <= 0) throw new Error('nesterov momentum requires momentum > 0');
  return {
    name: 'sgd',
    stateSlots: momentum > 0 ? ['momentum_buffer'] : [],
    prepare: ({ lr }) => ({ lr }),
    update: (param, p, rawGrad, state, shared, gradScale) => {
      const lr = shared.lr;
      const grad = gradScale ? op.mul(rawGrad, gradScale) : rawGrad;
      const g = param.weightDecay && weightDecay !== 0 ? op.add(grad, op.mul(p, weightDecay)) : grad;
      if (momentum <= 0) return { param: op.sub(p, op.mul(g, lr)), state: {} as Record<string, Tensor> };
      const buf = op.add(op.mul(state.momentum_buffer, momentum), g);
      const direction = nesterov ? op.add(g, op.mul(buf, momentum)) : buf;
      return { param: op.sub(p, op.mul(direction, lr)), state: { momentum_buffer: buf } };
    },
  };
}
