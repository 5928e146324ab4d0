import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeAll, writeFileAtomic } from '../../artifacts/atomic-write';
import { writeModelFile } from '../../artifacts/onnx-file';
import { toModelProto } from '../../graph-builder/onnx/to-model-proto';
import {
  buildPixelEncoderGraph,
  PixelGeometry,
  pixelPoolFactor,
} from '../../graph-builder/probes/pixel-encoder';
import { resolveSource } from '../data/sample-reader';
import type { LoaderSource } from '../data/types';
import type { SessionConfig } from '../session';
import { describeSource } from './feature-cache';
import { extractFeatures, FeaturePool } from './features';
import { ProbeProtocol, runProbe } from './probe-protocol';

/** Where results that outlive a run are cached: $XDG_CACHE_HOME/cae-onnx (default ~/.cache/cae-onnx). */
export function userCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cae-onnx');
}

export interface PixelBaselineOptions {
  readonly train: LoaderSource;
  readonly val: LoaderSource;
  readonly limit?: number;
  readonly valLimit?: number;
  readonly protocol: ProbeProtocol;
  /** The encoder's input: the pixels are taken at its size and normalization. */
  readonly geometry: PixelGeometry;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly session?: SessionConfig;
  /** Default: userCacheDir()/pixel-baselines. */
  readonly cacheDir?: string;
  readonly onProgress?: (what: string) => void;
}

export interface PixelBaseline {
  readonly accuracy: number;
  /** Average-pooling factor applied to the images (1: every pixel). */
  readonly poolFactor: number;
  readonly fromCache: boolean;
}

/**
 * The same probe protocol on raw pixels instead of encoder features (linear and k-NN: the whole
 * image as one vector; attentive: the encoder's patches as tokens), at the encoder's input size
 * and normalization, average-pooled to at most MAX_PIXEL_FEATURES values. The result is cached by
 * data (files, sizes, times), protocol and geometry, so it is computed once.
 */
export async function pixelBaseline(o: PixelBaselineOptions): Promise<PixelBaseline> {
  const dir = o.cacheDir ?? path.join(userCacheDir(), 'pixel-baselines');
  const pool: FeaturePool = o.protocol.mode === 'attentive' ? 'tokens' : 'cls';
  const kind = pool === 'tokens' ? 'patches' : 'flat';
  const description = JSON.stringify({
    version: 1,
    train: describeSource(resolveSource(o.train, o.limit).source),
    val: describeSource(resolveSource(o.val, o.valLimit).source),
    limit: o.limit ?? null,
    valLimit: o.valLimit ?? null,
    protocol: o.protocol,
    geometry: o.geometry,
    mean: o.mean,
    std: o.std,
  });
  const key = createHash('sha256').update(description).digest('hex').slice(0, 32);
  const file = path.join(dir, `${key}.json`);
  const poolFactor = pixelPoolFactor(o.geometry);
  if (fs.existsSync(file)) {
    try {
      const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as { accuracy: number };
      if (typeof cached.accuracy === 'number')
        return { accuracy: cached.accuracy, poolFactor, fromCache: true };
    } catch {
      // a damaged cache entry is recomputed
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  o.onProgress?.('raw pixels: computing the baseline for this data and protocol once (then cached)');
  const g = o.geometry;
  const encoder = path.join(dir, `pixels-${kind}-${g.channels}x${g.size}-p${g.patchSize}.onnx`);
  if (!fs.existsSync(encoder))
    writeModelFile(encoder, toModelProto(buildPixelEncoderGraph(g, kind), { paramsAs: 'inputs' }));
  const extract = (source: LoaderSource, limit: number | undefined, what: string) =>
    extractFeatures({
      encoder,
      source,
      limit,
      pool,
      mean: o.mean,
      std: o.std,
      executionProviders: o.session?.executionProviders,
      onProgress: (done, total) => done === total && o.onProgress?.(`raw pixels: ${what} ${total} images`),
    });
  const train = await extract(o.train, o.limit, '--data');
  const val = await extract(o.val, o.valLimit, '--val');
  const r = await runProbe(train, val, o.protocol, {
    session: o.session,
    onEpoch: (e, loss) => o.onProgress?.(`raw pixels: epoch ${e}: loss ${loss.toFixed(4)}`),
  });
  writeFileAtomic(file, (fd) =>
    writeAll(
      fd,
      Buffer.from(
        `${JSON.stringify({ accuracy: r.accuracy, ...r.details, description: JSON.parse(description) })}\n`,
      ),
    ),
  );
  return { accuracy: r.accuracy, poolFactor, fromCache: false };
}
