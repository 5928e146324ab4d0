export { BatchLoader } from './loader';
export type { Batch, LoaderOptions, LoaderSource, TokenizerView } from './types';
export {
  centralCrop,
  DEFAULT_RATIO,
  DEFAULT_SCALE,
  drawAugmentation,
  randomResizedCropParams,
  resizedCropBilinear,
} from './augment';
export type { AugmentOptions, CropBox, SampleDraw } from './augment';
export { IdxFormatError, mnistPaths, readIdxDataset, readIdxImages, readIdxLabels } from './idx';
export type { IdxDataset, IdxImages } from './idx';
export { listImageFolder } from './image-folder';
export type { ImageFolder } from './image-folder';
export type { StreamPosition } from './order';
