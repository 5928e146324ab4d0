/**
 * On-disk cache of extracted features: one safetensors file per (encoder file, data source, limit,
 * pooling, normalization), named by a hash of those inputs. The encoder enters the key by its size,
 * modification time and the SHA-1 of its first megabyte (and the same of its external data file, if
 * any), so a rewritten encoder misses the cache. Files are written atomically (writeSafetensors).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors, writeSafetensors } from '../../artifacts/safetensors';
import { tensorData } from '../../graph-builder/core/tensor-data';
import type { ResolvedSource } from '../data/sample-reader';
import type { FeatureSet } from './features';

/** Bytes of the encoder file hashed into the key. */
const HEAD_BYTES = 1 << 20;
const FORMAT = 'cae-onnx-features';
const VERSION = '1';

/** What the features depend on (besides the encoder's bytes, which `featureCacheKey` fingerprints). */
export interface FeatureCacheInputs {
  readonly encoder: string;
  readonly source: ResolvedSource;
  readonly limit?: number;
  readonly pool: string;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface FileFingerprint {
  readonly size: number;
  readonly mtimeMs: number;
  /** SHA-1 (hex) of the first megabyte. */
  readonly head: string;
}

/** Size, modification time and SHA-1 of the first megabyte of a file. */
export function fileFingerprint(file: string): FileFingerprint {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    const buf = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
    let done = 0;
    while (done < buf.length) {
      const got = fs.readSync(fd, buf, done, buf.length - done, done);
      if (got === 0) break;
      done += got;
    }
    const head = createHash('sha1').update(buf.subarray(0, done)).digest('hex');
    return { size: st.size, mtimeMs: st.mtimeMs, head };
  } finally {
    fs.closeSync(fd);
  }
}

/** Size and modification time of a file (for data files, whose content is not hashed). */
function stamp(file: string): [number, number] {
  const st = fs.statSync(file);
  return [st.size, st.mtimeMs];
}

/** A JSON-able description of a source: its files with their sizes and modification times. */
export function describeSource(source: ResolvedSource): Record<string, unknown> {
  if (source.kind === 'idx') {
    const images = path.resolve(source.images);
    const labels = source.labels === undefined ? null : path.resolve(source.labels);
    return {
      kind: 'idx',
      images,
      imagesStamp: stamp(images),
      labels,
      labelsStamp: labels === null ? null : stamp(labels),
    };
  }
  const root = path.resolve(source.root);
  const h = createHash('sha1');
  for (const f of source.files) {
    const [size, mtimeMs] = stamp(f);
    h.update(`${path.relative(root, f)}\0${size}\0${mtimeMs}\n`);
  }
  return { kind: 'files', root, count: source.files.length, files: h.digest('hex') };
}

/** The cache key (hex) of a feature extraction; reads the encoder's fingerprint and stats the source files. */
export function featureCacheKey(inputs: FeatureCacheInputs): { key: string; description: string } {
  const encoder = path.resolve(inputs.encoder);
  const dataFile = `${encoder}.data`;
  const description = JSON.stringify({
    format: FORMAT,
    version: VERSION,
    encoder: fileFingerprint(encoder),
    encoderData: fs.existsSync(dataFile) ? fileFingerprint(dataFile) : null,
    source: describeSource(inputs.source),
    limit: inputs.limit ?? null,
    pool: inputs.pool,
    mean: [...inputs.mean],
    std: [...inputs.std],
  });
  return { key: createHash('sha256').update(description).digest('hex'), description };
}

/** The cache file of a key. */
export function featureCachePath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `features-${key.slice(0, 32)}.safetensors`);
}

function parseCount(v: string | undefined): number {
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : -1;
}

/**
 * The cached features of `key`, or null when there are none (or the file is unreadable, or was
 * written for another key: a miss, never an error).
 */
export function loadCachedFeatures(cacheDir: string, key: string): FeatureSet | null {
  const file = featureCachePath(cacheDir, key);
  if (!fs.existsSync(file)) return null;
  try {
    const { tensors, metadata } = readSafetensors(file);
    if (metadata.format !== FORMAT || metadata.version !== VERSION || metadata.key !== key) return null;
    const features = tensors.get('features');
    const labels = tensors.get('labels');
    const count = parseCount(metadata.count);
    const tokensPerSample = parseCount(metadata.tokensPerSample);
    const dim = parseCount(metadata.dim);
    if (!features || features.dtype !== 'float32' || !labels || labels.dtype !== 'int32') return null;
    if (features.shape.join() !== [count, tokensPerSample, dim].join() || labels.shape.join() !== `${count}`)
      return null;
    const skipped: unknown = JSON.parse(metadata.skipped ?? '[]');
    if (!Array.isArray(skipped) || !skipped.every((s): s is string => typeof s === 'string')) return null;
    return {
      features: features.data as Float32Array,
      labels: labels.data as Int32Array,
      count,
      dim,
      tokensPerSample,
      skipped,
      fromCache: true,
    };
  } catch {
    return null;
  }
}

/** Writes `set` as the cache file of `key` (atomically), creating `cacheDir` if needed. */
export function saveCachedFeatures(
  cacheDir: string,
  key: string,
  description: string,
  set: FeatureSet,
): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  const file = featureCachePath(cacheDir, key);
  writeSafetensors(
    file,
    [
      ['features', tensorData('float32', [set.count, set.tokensPerSample, set.dim], set.features)],
      ['labels', tensorData('int32', [set.count], set.labels)],
    ],
    {
      format: FORMAT,
      version: VERSION,
      key,
      count: String(set.count),
      tokensPerSample: String(set.tokensPerSample),
      dim: String(set.dim),
      skipped: JSON.stringify(set.skipped),
      inputs: description,
    },
  );
  return file;
}
