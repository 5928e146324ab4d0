import type { AugmentOptions } from './augment';
import type { StreamPosition } from './order';
import type { RandomErasingConfig } from './random-erasing';

export type LoaderSource =
  | { readonly kind: 'idx'; readonly images: string; readonly labels?: string }
  | { readonly kind: 'folder'; readonly dir: string }
  | { readonly kind: 'mnist'; readonly split: 'train' | 'test' };

/** The second view for an image tokenizer: the same crop at `size`, pixels in [0, 1] mapped to scale * x + shift. */
export interface TokenizerView {
  readonly size: number;
  readonly scale: number;
  readonly shift: number;
}

export interface LoaderOptions {
  readonly source: LoaderSource;
  /** Side of the square output images. */
  readonly imageSize: number;
  readonly channels: 1 | 3;
  readonly batchSize: number;
  readonly seed: number;
  /** Random crop + flip; false: plain resize of the whole image, no randomness. */
  readonly augment: AugmentOptions | false;
  /** Per channel (or one value for all channels), applied to pixels in [0, 1]. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly tokenizer?: TokenizerView;
  /** Random erasing of each (normalized) image, fine-tuning's last augmentation. */
  readonly erase?: RandomErasingConfig;
  /** Worker threads; default min(2, cpus), or 0 under jest. 0 = decode in this thread. */
  readonly workers?: number;
  /** Batches in flight, default 4. */
  readonly prefetch?: number;
  /** Resume: the first batch starts at this sample position of this epoch (e.g. an earlier batch's `next`). */
  readonly start?: StreamPosition;
  /** Use only the first N samples of the dataset (after sorting). */
  readonly limit?: number;
  /**
   * Data-parallel sharding of the batch stream: it is cut into groups of `ranks` x `perRank`
   * consecutive batches (one update's micro-batches), and this loader yields batches `rank` x
   * `perRank` .. + perRank - 1 of each group. Every batch's `next` is the end of its group, so a
   * checkpoint after an update resumes any number of ranks at the same place. Absent: every batch.
   */
  readonly shard?: DataShard;
}

export interface DataShard {
  readonly rank: number;
  readonly ranks: number;
  readonly perRank: number;
}

export interface Batch {
  /** [B, C, H, W], normalized with mean / std. */
  readonly images: Float32Array;
  /** [B]; -1 where a sample has no label. */
  readonly labels: Int32Array;
  /** [B, C, t, t] tokenizer view, when asked for. */
  readonly tokenizerImages?: Float32Array;
  readonly epoch: number;
  /** Sample position (in this epoch's permutation) of the first sample of this batch. */
  readonly position: number;
  /** Where the next batch starts: pass it as `start` to resume right after this batch. */
  readonly next: StreamPosition;
}

/**
 * What a batch builder (in this thread or in a worker) needs: the options with the source resolved
 * to files. Structured-clonable.
 */
export interface BuildSpec {
  readonly source:
    | { readonly kind: 'idx'; readonly images: string; readonly labels?: string }
    | { readonly kind: 'files'; readonly files: readonly string[]; readonly labels: Int32Array };
  readonly imageSize: number;
  readonly channels: 1 | 3;
  readonly batchSize: number;
  readonly seed: number;
  readonly augment: AugmentOptions | false;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly tokenizer?: TokenizerView;
  readonly erase?: RandomErasingConfig;
  readonly limit?: number;
}

/** A built batch, before the loader adds its place in the stream. */
export interface BatchPayload {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly tokenizerImages?: Float32Array;
  /** Files found undecodable while building this batch (replaced by other samples). */
  readonly skipped: string[];
}

/** Messages between the loader and its worker threads ('close': stop listening and exit). */
export type WorkerRequest =
  | { readonly type: 'batch'; readonly id: number; readonly epoch: number; readonly position: number }
  | { readonly type: 'close' };

export type WorkerResponse =
  | { readonly type: 'ready'; readonly size: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'batch'; readonly id: number; readonly payload: BatchPayload }
  | { readonly type: 'error'; readonly id: number; readonly message: string };
