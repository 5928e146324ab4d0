/**
 * Frozen features of a deployed encoder (images [batch, C, H, W] -> tokens [batch, 1 + N, D]) over a
 * whole dataset: every sample once, in dataset order, resized without augmentation and normalized,
 * pooled to the cls token, the mean patch token or all tokens. Optionally cached on disk.
 */
import { tensorData } from '../../graph-builder/core/tensor-data';
import { openSampleReader, resolveSource, SampleBatch, SampleReader } from '../data/sample-reader';
import type { LoaderSource } from '../data/types';
import { ModelSession, SessionConfig } from '../session';
import { featureCacheKey, loadCachedFeatures, saveCachedFeatures } from './feature-cache';

export type FeaturePool = 'cls' | 'mean' | 'tokens';

export interface FeatureOptions {
  /** The encoder .onnx file: input `images` [batch, C, H, W] (C, H, W static), output `tokens` [batch, 1 + N, D]. */
  readonly encoder: string;
  readonly source: LoaderSource;
  /** Per channel (or one value for all channels), applied to pixels in [0, 1]. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** 'cls': token 0; 'mean': the mean of the patch tokens 1..N; 'tokens': all 1 + N tokens. */
  readonly pool: FeaturePool;
  /** Samples per encoder run (default 64; the last batch may be smaller). */
  readonly batchSize?: number;
  /** Only the first N samples of the dataset (after sorting). */
  readonly limit?: number;
  /** ORT intra-op threads (default: ORT's choice). */
  readonly threads?: number;
  /** Execution provider (default: CPU). */
  readonly executionProviders?: SessionConfig['executionProviders'];
  /** Folder of the feature cache; none: no caching. */
  readonly cacheDir?: string;
  /** After each batch: samples done (decoded or skipped) out of the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FeatureSet {
  /** [count, tokensPerSample, dim], samples in dataset order. */
  readonly features: Float32Array;
  readonly count: number;
  readonly dim: number;
  /** 1 for 'cls' and 'mean' pooling, 1 + N for 'tokens'. */
  readonly tokensPerSample: number;
  /** [count]; -1 where a sample has no label. */
  readonly labels: Int32Array;
  /** Image files that could not be decoded (left out, so `count` is smaller by their number). */
  readonly skipped: string[];
  /** Whether the features came from the cache. */
  readonly fromCache: boolean;
}

const DEFAULT_BATCH = 64;
const IMAGES = 'images';
const TOKENS = 'tokens';

function checkInt(name: string, v: number, min: number): void {
  if (!(Number.isSafeInteger(v) && v >= min))
    throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
}

/** Channels and side of the encoder's `images` input ([batch, C, H, W], C 1 or 3, H = W static). */
function encoderGeometry(session: ModelSession, file: string): { channels: 1 | 3; size: number } {
  const meta = session.session.inputMetadata.find((m) => m.name === IMAGES);
  if (!meta || !meta.isTensor)
    throw new Error(
      `${file}: the encoder has no tensor input '${IMAGES}' (inputs: ${session.inputNames.join(', ')})`,
    );
  const shape = meta.shape;
  const [, c, h, w] = shape;
  if (shape.length !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number') {
    throw new Error(
      `${file}: '${IMAGES}' must be [batch, C, H, W] with static C, H, W, got [${shape.join(', ')}]`,
    );
  }
  if (c !== 1 && c !== 3) throw new Error(`${file}: '${IMAGES}' has ${c} channels; 1 or 3 are supported`);
  if (h !== w) throw new Error(`${file}: '${IMAGES}' is ${h}x${w}; only square inputs are supported`);
  return { channels: c, size: h };
}

/** Writes the pooled tokens [b, T, D] of a batch into `out` at sample `at`. */
function pool(
  tokens: Float32Array,
  b: number,
  t: number,
  d: number,
  mode: FeaturePool,
  out: Float32Array,
  at: number,
): void {
  if (mode === 'tokens') {
    out.set(tokens.subarray(0, b * t * d), at * t * d);
    return;
  }
  for (let s = 0; s < b; s++) {
    const src = s * t * d;
    const dst = (at + s) * d;
    if (mode === 'cls') {
      out.set(tokens.subarray(src, src + d), dst);
      continue;
    }
    for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let p = 1; p < t; p++) sum += tokens[src + p * d + j];
      out[dst + j] = sum / (t - 1);
    }
  }
}

/**
 * Runs the encoder over every sample of the source in dataset order (IDX order, or the sorted files
 * of a folder) and pools its tokens. Undecodable image files are left out and listed in `skipped`.
 * With `cacheDir`, a previous extraction with the same encoder file, source, limit, pooling and
 * normalization is loaded instead.
 */
export async function extractFeatures(options: FeatureOptions): Promise<FeatureSet> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  checkInt('batchSize', batchSize, 1);
  if (options.limit !== undefined) checkInt('limit', options.limit, 1);
  if (options.threads !== undefined) checkInt('threads', options.threads, 1);
  if (!['cls', 'mean', 'tokens'].includes(options.pool))
    throw new Error(`pool must be 'cls', 'mean' or 'tokens', got ${String(options.pool)}`);

  const resolved = resolveSource(options.source, options.limit);
  const { source } = resolved;

  let cache: { dir: string; key: string; description: string } | null = null;
  if (options.cacheDir !== undefined) {
    const { key, description } = featureCacheKey({
      encoder: options.encoder,
      source,
      limit: options.limit,
      pool: options.pool,
      mean: options.mean,
      std: options.std,
    });
    cache = { dir: options.cacheDir, key, description };
    const hit = loadCachedFeatures(cache.dir, key);
    if (hit) {
      const total = hit.count + hit.skipped.length;
      options.onProgress?.(total, total);
      return hit;
    }
  }

  const session = await ModelSession.create(options.encoder, {
    threads: options.threads,
    executionProviders: options.executionProviders,
  });
  try {
    const { channels, size } = encoderGeometry(session, options.encoder);
    const output = session.outputNames.includes(TOKENS) ? TOKENS : session.outputNames[0];
    const reader = openSampleReader(
      resolved,
      { channels, size, mean: options.mean, std: options.std },
      options.limit,
    );
    const set = await extract(
      session,
      output,
      reader,
      batchSize,
      options.pool,
      size,
      channels,
      options.onProgress,
    );
    if (cache) saveCachedFeatures(cache.dir, cache.key, cache.description, set);
    return set;
  } finally {
    await session.release();
  }
}

async function extract(
  session: ModelSession,
  output: string,
  reader: SampleReader,
  batchSize: number,
  mode: FeaturePool,
  size: number,
  channels: number,
  onProgress: ((done: number, total: number) => void) | undefined,
): Promise<FeatureSet> {
  const total = reader.total;
  if (total === 0) throw new Error('the dataset has no samples');
  const read = (start: number): Promise<SampleBatch> => {
    const p = reader.read(start, Math.min(start + batchSize, total));
    p.catch(() => undefined); // a failure surfaces where the batch is awaited
    return p;
  };
  const labels = new Int32Array(total);
  const skipped: string[] = [];
  let features: Float32Array | null = null;
  let tokensPerSample = 0;
  let dim = 0;
  let count = 0;
  let pending = read(0);
  for (let start = 0; start < total; start += batchSize) {
    const batch = await pending;
    if (start + batchSize < total) pending = read(start + batchSize); // decode the next batch meanwhile
    skipped.push(...batch.skipped);
    if (batch.count > 0) {
      const images = tensorData('float32', [batch.count, channels, size, size], batch.images);
      const result = (await session.run({ [IMAGES]: images }, [output]))[output];
      const [b, t, d] = result.shape;
      if (result.dtype !== 'float32' || result.shape.length !== 3 || b !== batch.count || t < 2 || d < 1) {
        throw new Error(
          `the encoder's '${output}' must be float32 [${batch.count}, 1 + N, D], got ${result.dtype} [${result.shape.join(', ')}]`,
        );
      }
      if (features === null) {
        tokensPerSample = mode === 'tokens' ? t : 1;
        dim = d;
        features = new Float32Array(total * tokensPerSample * dim);
      } else if ((mode === 'tokens' ? t : 1) !== tokensPerSample || d !== dim) {
        throw new Error(
          `the encoder's '${output}' changed shape between batches: [${result.shape.join(', ')}]`,
        );
      }
      pool(result.data as Float32Array, b, t, d, mode, features, count);
      labels.set(batch.labels, count);
      count += batch.count;
    }
    onProgress?.(Math.min(start + batchSize, total), total);
  }
  if (features === null || count === 0) throw new Error(`none of the ${total} images could be decoded`);
  const per = tokensPerSample * dim;
  return {
    features: count === total ? features : features.slice(0, count * per),
    count,
    dim,
    tokensPerSample,
    labels: count === total ? labels : labels.slice(0, count),
    skipped,
    fromCache: false,
  };
}
