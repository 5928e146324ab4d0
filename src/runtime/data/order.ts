import { hashInts } from '../../random/hash';
import { Rng } from '../../random/rng';

/** A place in the sample stream: sample `position` of the permutation of `epoch`. */
export interface StreamPosition {
  readonly epoch: number;
  readonly position: number;
}

const PERMUTATION_TAG = 1;
const SAMPLE_TAG = 2;

/** The order of the samples of one epoch: a permutation of 0..size-1. */
export function epochPermutation(seed: number, epoch: number, size: number): Int32Array {
  return new Rng(hashInts(PERMUTATION_TAG, seed, epoch)).permutation(size);
}

/**
 * The generator of every random decision (crop, flip) for dataset sample `index` in `epoch`. It
 * depends on nothing else, so results do not depend on which worker handles the sample.
 */
export function sampleRng(seed: number, epoch: number, index: number): Rng {
  return new Rng(hashInts(SAMPLE_TAG, seed, epoch, index));
}

/**
 * Where the batch that starts at `at` really starts: a batch needs `batchSize` samples in the
 * epoch (the last incomplete batch is dropped), else the next epoch starts.
 */
export function normalizePosition(at: StreamPosition, batchSize: number, size: number): StreamPosition {
  if (at.position + batchSize <= size) return { epoch: at.epoch, position: at.position };
  return { epoch: at.epoch + 1, position: 0 };
}

/** The start of the batch after the (normalized) batch that starts at `at`. */
export function nextPosition(at: StreamPosition, batchSize: number, size: number): StreamPosition {
  return normalizePosition({ epoch: at.epoch, position: at.position + batchSize }, batchSize, size);
}

/**
 * Sample slot filling for data with undecodable files: `use` is offered the dataset index at
 * position `pos` of the epoch's `order`, then the following ones, until it accepts one (true: it
 * decoded and wrote it). Refused indices join `bad` (reported once through `onBad`) and are passed
 * over from then on. The CLI's loader and the page fill batches with it, so both skip alike.
 */
export async function useFirstDecodable(
  order: Int32Array,
  pos: number,
  bad: Set<number>,
  use: (index: number) => Promise<boolean>,
  onBad: (index: number) => void,
): Promise<void> {
  const size = order.length;
  for (let j = 0; j < size; j++) {
    const index = order[(pos + j) % size];
    if (bad.has(index)) continue;
    if (await use(index)) return;
    // several slots decode at once: the same file may fail for two of them
    if (!bad.has(index)) {
      bad.add(index);
      onBad(index);
    }
  }
  throw new Error(`none of the ${size} image files could be decoded`);
}
