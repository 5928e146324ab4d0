import { apply1 } from '../core/apply';
import { ShapeError } from '../core/errors';
import { defineOp } from '../core/op-spec';
import { Dim } from '../core/shape';
import { Tensor } from '../core/tensor';
import { requireSameDtype, requireStaticDim } from './op-helpers';

export interface ConvAttrs {
  readonly kernel_shape?: readonly number[];
  readonly strides?: readonly number[];
  readonly pads?: readonly number[];
  readonly dilations?: readonly number[];
  readonly group?: number;
  readonly [k: string]: number | readonly number[] | undefined;
}

/** N-D convolution, NC[spatial] layout. W: [M, C/group, k...], B: [M]. */
export const Conv = defineOp<ConvAttrs>({
  opType: 'Conv',
  attrKinds: { kernel_shape: 'ints', strides: 'ints', pads: 'ints', dilations: 'ints', group: 'int' },
  infer: ([x, w, b], { strides, pads, dilations, group = 1 }) => {
    const dtype = requireSameDtype([x, w, b]);
    const spatial = x!.rank - 2;
    if (spatial < 1 || w!.rank !== x!.rank)
      throw new ShapeError('Conv needs X [N, C, ...] and W [M, C/group, ...] of equal rank');
    const channels = requireStaticDim(x!.shape[1], 'Conv input channels');
    const m = requireStaticDim(w!.shape[0], 'Conv output channels');
    if (w!.shape[1] !== channels / group || m % group !== 0) {
      throw new ShapeError(`channels: X has ${channels}, W expects ${w!.shape[1]} x group ${group}`);
    }
    if (b && (b.rank !== 1 || b.shape[0] !== m)) throw new ShapeError(`bias must be [${m}]`);
    const out: Dim[] = [x!.shape[0], m];
    for (let i = 0; i < spatial; i++) {
      const size = requireStaticDim(x!.shape[2 + i], 'Conv spatial dims');
      const k = requireStaticDim(w!.shape[2 + i], 'Conv kernel');
      const s = strides?.[i] ?? 1;
      const d = dilations?.[i] ?? 1;
      const p = (pads?.[i] ?? 0) + (pads?.[i + spatial] ?? 0);
      const o = Math.floor((size + p - d * (k - 1) - 1) / s) + 1;
      if (o < 1) throw new ShapeError(`kernel ${k} does not fit spatial size ${size}`);
      out.push(o);
    }
    return [{ dtype, shape: out }];
  },
});

/** Convolution. x: [B, C, H, W], w: [M, C/group, kH, kW], bias: [M] -> [B, M, H', W']. */
export const conv = (x: Tensor, w: Tensor, bias?: Tensor, attrs: ConvAttrs = {}): Tensor =>
  apply1(Conv, [x, w, bias], { kernel_shape: w.shape.slice(2) as number[], ...attrs });
