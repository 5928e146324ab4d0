import { FileFormatError } from '../../artifacts/file-format-error';
import { mnistPaths, readIdxLabels } from './idx';
import { listImageFolder } from './image-folder';
import type { LoaderSource } from './types';

/** The labels of a labeled dataset, in dataset order, and its class names where the data has them. */
export interface DatasetLabels {
  /** [count] class ids (after the limit). */
  readonly labels: Int32Array;
  /** Class subfolder names of an image folder; the digits for MNIST; absent for IDX files. */
  readonly classNames?: readonly string[];
}

/**
 * Reads only the labels of a source: IDX label files (MNIST's included) or an image folder's class
 * subfolders. Unlabeled data (an IDX file without labels, images outside class subfolders) is the
 * user's error, named.
 */
export function datasetLabels(source: LoaderSource, limit?: number): DatasetLabels {
  const cut = (labels: Int32Array) => (limit === undefined ? labels : labels.slice(0, limit));
  switch (source.kind) {
    case 'mnist':
      return {
        labels: cut(Int32Array.from(readIdxLabels(mnistPaths(source.split).labels))),
        classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      };
    case 'idx':
      if (!source.labels) throw new FileFormatError(`${source.images} has no labels file`);
      return { labels: cut(Int32Array.from(readIdxLabels(source.labels))) };
    case 'folder': {
      const folder = listImageFolder(source.dir);
      const labels = cut(folder.labels);
      if (labels.length === 0)
        throw new FileFormatError(`no images (.jpg, .jpeg, .png, .webp) under ${folder.root}`);
      const loose = labels.indexOf(-1);
      if (loose >= 0) {
        throw new FileFormatError(
          `${folder.files[loose]} is not in a class subfolder of ${folder.root}: labeled data needs one subfolder per class`,
        );
      }
      return { labels, classNames: folder.classes };
    }
  }
}
