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

export interface PoolAttrs {
  readonly kernel_shape?: readonly number[];
  readonly strides?: readonly number[];
  readonly [k: string]: number | readonly number[] | undefined;
}

/** Max pooling without padding (NC[spatial]); inference graphs only (no gradient rule). */
export const MaxPool = defineOp<PoolAttrs>({
  opType: 'MaxPool',
  attrKinds: { kernel_shape: 'ints', strides: 'ints' },
  infer: ([x], { kernel_shape, strides }) => {
    const spatial = x!.rank - 2;
    if (!kernel_shape || kernel_shape.length !== spatial)
      throw new ShapeError(`MaxPool needs a kernel_shape of ${spatial} dims`);
    const out: Dim[] = [x!.shape[0], x!.shape[1]];
    for (let i = 0; i < spatial; i++) {
      const size = requireStaticDim(x!.shape[2 + i], 'MaxPool spatial dims');
      const o = Math.floor((size - kernel_shape[i]) / (strides?.[i] ?? 1)) + 1;
      if (o < 1) throw new ShapeError(`pool ${kernel_shape[i]} does not fit spatial size ${size}`);
      out.push(o);
    }
    return [{ dtype: x!.dtype, shape: out }];
  },
});

/** k x k max pooling with stride k (PyTorch's MaxPool2d(kernel_size=k)). x: [B, C, H, W] -> [B, C, H/k, W/k]. */
export const maxPool = (x: Tensor, k: number): Tensor =>
  apply1(MaxPool, [x], { kernel_shape: [k, k], strides: [k, k] });
