import type { Manifest } from '../../artifacts/manifest';
import { CAE_INPUTS } from '../../graph-builder/cae/model';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { hashInts } from '../../random/hash';
import { Rng } from '../../random/rng';
import { makeMaskBatch } from '../masking';
import type { ModelSession } from '../session';
import { dropPathKeep, keepAll } from './drop-path';
import { tokenizerTargets } from './tokenizer-targets';

/** Tags keep the per-step stream apart from the data order's streams, which hash the same seed. */
const STEP_TAG = 3;

/** A step's own generator: masks and drop-path decisions depend only on (seed, step), so resume is exact. */
export function stepRng(seed: number, step: number): Rng {
  // Hashed: a generator seeded with the raw words gave nearly the same first draws at every step.
  return new Rng(hashInts(STEP_TAG, seed, step));
}

/**
 * The generator of micro-batch `micro` of update `step` (masks, drop path, mixup): the step's own for
 * micro-batch 0, a hash of (seed, step, micro) for the others. Micro-batches are numbered over the
 * whole update, so rank r of a data-parallel run draws what micro-batch r x perRank + a draws under
 * --accumulate in one process.
 */
export function microBatchRng(seed: number, step: number, micro: number): Rng {
  return micro === 0 ? stepRng(seed, step) : new Rng(hashInts(STEP_TAG, seed, step, micro));
}

export interface ImageBatch {
  /** [B, C, H, W] normalized. */
  readonly images: Float32Array;
  /** [B, C, t, t] tokenizer view, for token targets. */
  readonly tokenizerImages?: Float32Array;
}

/**
 * The data inputs of one CAE training step: images, block/random masks, token targets (through the
 * tokenizer) and drop-path decisions. The alignment pass gets its own decisions when
 * `alignmentDropPath` (the reference leaves drop path on there), else none.
 */
export async function stepInputs(
  manifest: Manifest,
  batch: ImageBatch,
  rng: Rng,
  options: { alignmentDropPath: boolean; tokenizer?: ModelSession },
): Promise<Record<string, TensorData>> {
  const c = manifest.config;
  const b = c.batch;
  const masks = makeMaskBatch(rng, {
    batch: b,
    grid: { height: manifest.grid.side, width: manifest.grid.side },
    numMasked: c.numMasked,
    kind: c.maskKind,
  });
  const feeds: Record<string, TensorData> = {
    [CAE_INPUTS.images]: tensorData('float32', [b, c.inChans, c.imageSize, c.imageSize], batch.images),
    [CAE_INPUTS.visibleIndex]: tensorData('int64', [b, masks.numVisible], masks.visibleIndex),
    [CAE_INPUTS.maskedIndex]: tensorData('int64', [b, masks.numMasked], masks.maskedIndex),
  };
  if (c.target === 'tokens') {
    const t = manifest.tokenizer;
    if (!t || !options.tokenizer || !batch.tokenizerImages)
      throw new Error("token targets need the build's tokenizer");
    const view = tensorData('float32', [b, t.inChans, t.inputSize, t.inputSize], batch.tokenizerImages);
    feeds[CAE_INPUTS.targetTokens] = await tokenizerTargets(
      options.tokenizer,
      view,
      masks.maskedIndex,
      c.numMasked,
    );
  }
  if (c.dropPathRate > 0) {
    feeds[CAE_INPUTS.keepEncoder] = dropPathKeep(rng, c.depth, b, c.dropPathRate);
    feeds[CAE_INPUTS.keepRegressor] = dropPathKeep(rng, c.regressorDepth, b, c.dropPathRate);
    feeds[CAE_INPUTS.keepDecoder] = dropPathKeep(rng, c.decoderDepth, b, c.dropPathRate);
    feeds[CAE_INPUTS.keepAlignment] = options.alignmentDropPath
      ? dropPathKeep(rng, c.depth, b, c.dropPathRate)
      : keepAll(c.depth, b);
  }
  return feeds;
}
