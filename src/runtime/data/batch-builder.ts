import { promises as fsp } from 'node:fs';
import { drawAugmentation, writeChw } from './augment';
import { readIdxDataset } from './idx';
import { decodeResizedCrops, imageSize, ResizeView } from './image-folder';
import { epochPermutation, sampleRng, useFirstDecodable } from './order';
import { BatchArrays, SampleWriter } from './sample-writer';
import type { BatchPayload, BuildSpec } from './types';

/** Files decoded at once while building one batch. */
const FILE_CONCURRENCY = 4;

/** Decoded IDX images (uint8 [N, rows, cols]) and labels. */
interface MemoryImages {
  readonly data: Uint8Array;
  readonly rows: number;
  readonly cols: number;
  readonly labels: Uint8Array | null;
}

/**
 * Builds the batch that starts at a given stream position. The content of a batch depends only on
 * the spec and that position, so any number of builders (threads) produce the same batches.
 */
export class BatchBuilder {
  private readonly samples: SampleWriter;
  private readonly permutations = new Map<number, Int32Array>();
  /** Files known to be undecodable (a cache: the outcome does not depend on it). */
  private readonly bad = new Set<number>();

  private constructor(
    private readonly spec: BuildSpec,
    readonly size: number,
    private readonly memory: MemoryImages | null,
  ) {
    this.samples = new SampleWriter(spec);
  }

  static create(spec: BuildSpec): BatchBuilder {
    const limit = spec.limit ?? Infinity;
    if (spec.source.kind === 'idx') {
      const ds = readIdxDataset(spec.source.images, spec.source.labels);
      const { data, rows, cols, count } = ds.images;
      return new BatchBuilder(spec, Math.min(count, limit), { data, rows, cols, labels: ds.labels });
    }
    return new BatchBuilder(spec, Math.min(spec.source.files.length, limit), null);
  }

  private permutation(epoch: number): Int32Array {
    let p = this.permutations.get(epoch);
    if (!p) {
      p = epochPermutation(this.spec.seed, epoch, this.size);
      this.permutations.set(epoch, p);
      // batches in flight span at most a couple of epochs: drop the oldest
      if (this.permutations.size > 3)
        this.permutations.delete(this.permutations.keys().next().value as number);
    }
    return p;
  }

  async build(epoch: number, position: number): Promise<BatchPayload> {
    const { batchSize } = this.spec;
    if (!(Number.isInteger(position) && position >= 0 && position + batchSize <= this.size)) {
      throw new Error(`batch at position ${position} does not fit an epoch of ${this.size} samples`);
    }
    const perm = this.permutation(epoch);
    const out = this.samples.allocate(batchSize);
    if (this.memory) {
      for (let k = 0; k < batchSize; k++) this.memorySample(this.memory, epoch, perm[position + k], k, out);
      return { ...out, skipped: [] };
    }
    const skipped: string[] = [];
    let nextK = 0;
    const run = async (): Promise<void> => {
      while (nextK < batchSize) {
        const k = nextK++;
        await this.fileSample(epoch, perm, position + k, k, out, skipped);
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILE_CONCURRENCY, batchSize) }, run));
    return { ...out, skipped: skipped.sort() };
  }

  private memorySample(
    memory: MemoryImages,
    epoch: number,
    index: number,
    k: number,
    out: BatchArrays,
  ): void {
    const { data, rows, cols, labels } = memory;
    const image = data.subarray(index * rows * cols, (index + 1) * rows * cols);
    this.samples.write({ data: image, width: cols, height: rows, channels: 1 }, epoch, index, k, out);
    out.labels[k] = labels ? labels[index] : -1;
  }

  /** Sample at `pos`, or, if its file cannot be decoded, the next decodable file in permutation order. */
  private async fileSample(
    epoch: number,
    perm: Int32Array,
    pos: number,
    k: number,
    out: BatchArrays,
    skipped: string[],
  ): Promise<void> {
    const source = this.spec.source;
    if (source.kind !== 'files') throw new Error('not a file source');
    const use = async (index: number) => {
      try {
        await this.decodeFile(epoch, index, source.files[index], k, out);
        out.labels[k] = source.labels[index];
        return true;
      } catch {
        return false;
      }
    };
    await useFirstDecodable(perm, pos, this.bad, use, (index) => skipped.push(source.files[index]));
  }

  private async decodeFile(
    epoch: number,
    index: number,
    file: string,
    k: number,
    out: BatchArrays,
  ): Promise<void> {
    const { channels, imageSize: s, augment, tokenizer } = this.spec;
    const input = await fsp.readFile(file);
    const { width, height } = await imageSize(input);
    const rng = sampleRng(this.spec.seed, epoch, index);
    const draw = drawAugmentation(rng, width, height, augment);
    const views: ResizeView[] = [{ size: s, kernel: 'cubic' }];
    if (tokenizer) views.push({ size: tokenizer.size, kernel: 'lanczos3' });
    const [pixels, tok] = await decodeResizedCrops(input, draw.crop, channels, views);
    // write only once both views decoded, so a failing file leaves no partial sample behind
    writeChw(
      pixels,
      s,
      channels,
      channels,
      draw.flip,
      this.samples.norm.a,
      this.samples.norm.b,
      out.images,
      k * channels * s * s,
    );
    this.samples.erase(rng, out.images, k);
    if (tokenizer && tok && out.tokenizerImages && this.samples.tokenizerMap) {
      const t = tokenizer.size;
      writeChw(
        tok,
        t,
        channels,
        channels,
        draw.flip,
        this.samples.tokenizerMap.a,
        this.samples.tokenizerMap.b,
        out.tokenizerImages,
        k * channels * t * t,
      );
    }
  }
}
