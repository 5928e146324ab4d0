export { blockMask } from './block-mask';
export type { BlockMaskOptions } from './block-mask';
export { randomMask } from './random-mask';
export { maskIndices, makeMaskBatch } from './mask-batch';
export type { MaskBatch, MaskBatchSpec, MaskKind } from './mask-batch';
export type { MaskGrid } from './validate';
