import { defineOp } from './op-spec';

/** Identity lives in core because graph outputs are declared through it. */
export const IDENTITY = defineOp<Record<string, never>>({
  opType: 'Identity',
  attrKinds: {},
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  fold: ([x]) => [x!],
});
