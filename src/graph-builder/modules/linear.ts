import type { InitSpec } from '../core/graph';
import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { autocast } from './autocast';

export interface LinearOptions {
  readonly bias?: boolean;
  readonly init?: InitSpec;
}

/**
 * torch.nn.Linear in the current scope: `weight` [out, in] (PyTorch layout, so checkpoints load
 * as-is), `bias` [out]. x: [..., in] -> [..., out], computed as one Gemm over the flattened rows
 * with transB, so the weight is never transposed explicitly.
 */
export function linear(x: Tensor, outFeatures: number, options: LinearOptions = {}): Tensor {
  const g = x.graph;
  const inFeatures = x.shape[x.rank - 1] as number;
  const weight = g.param('weight', [outFeatures, inFeatures], {
    init: options.init ?? { kind: 'xavier_uniform', fanIn: inFeatures, fanOut: outFeatures },
  });
  const bias =
    options.bias === false ? undefined : g.param('bias', [outFeatures], { init: { kind: 'zeros' } });
  return linearWith(x, weight, bias);
}

/** y = x @ weight^T + bias for given tensors. x: [..., in], weight: [out, in], bias: [out]. */
export function linearWith(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const rows = x.rank === 2 ? x : op.reshape(x, [-1, x.shape[x.rank - 1]]);
  const y = autocast(
    (r, w, b?: Tensor) => op.gemm(r, w, b, { transB: 1 }),
    rows,
    weight,
    ...(bias ? [bias] : []),
  );
  return x.rank === 2 ? y : op.reshape(y, [...x.shape.slice(0, -1), weight.shape[0]]);
}
