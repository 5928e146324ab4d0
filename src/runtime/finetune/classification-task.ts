import * as path from 'node:path';
import type { Manifest } from '../../artifacts/manifest';
import { FINETUNE_INPUTS } from '../../graph-builder/finetune/classifier';
import { tensorData } from '../../graph-builder/core/tensor-data';
import type { LoaderSource } from '../data/loader';
import { mixBatch, MixupConfig } from '../data/mixup';
import type { RandomErasingConfig } from '../data/random-erasing';
import { openSampleReader, resolveSource } from '../data/sample-reader';
import { ModelSession, SessionConfig } from '../session';
import { dropPathKeep } from '../train/drop-path';
import type { TrainingTask } from '../train/training-task';
import { evaluateClassifier } from './evaluate-classifier';

/** What a fine-tuning run adds to a run's options (saved in checkpoints like the rest). */
export interface FinetuneRunOptions {
  /** Validation data, scored after every `evalEvery` updates and at the end. */
  readonly val: LoaderSource;
  readonly valLimit?: number;
  readonly evalEvery: number;
  /** Mixup / CutMix and label smoothing (alphas 0: smoothed one-hot targets only). */
  readonly mixup: Omit<MixupConfig, 'classes'>;
  readonly erase: RandomErasingConfig | false;
}

/**
 * Fine-tuning a classifier: each batch mixed (Mixup or CutMix, per step) into soft targets, drop path
 * per sample, random erasing in the loader; top-1 and cross-entropy on the validation set at each
 * epoch's end, with the classifier graph and the step's parameters.
 */
export async function classificationTask(
  manifest: Manifest,
  buildDir: string,
  o: { finetune: FinetuneRunOptions; totalSteps: number; session: SessionConfig },
): Promise<TrainingTask> {
  const task = manifest.task;
  const graph = manifest.graphs.classifier;
  if (!task || !graph) throw new Error(`${buildDir} is not a fine-tuning build (no classifier graph)`);
  const c = manifest.config;
  const classes = task.classes;
  const session = await ModelSession.create(path.join(buildDir, graph.file), o.session);
  const reader = openSampleReader(
    resolveSource(o.finetune.val, o.finetune.valLimit),
    {
      channels: c.inChans as 1 | 3,
      size: c.imageSize,
      mean: manifest.normalization.mean,
      std: manifest.normalization.std,
    },
    o.finetune.valLimit,
  );
  return {
    terms: [],
    loader: { erase: o.finetune.erase || undefined },
    feeds: async (batch, rng) => {
      for (const label of batch.labels) {
        if (!(label >= 0 && label < classes))
          throw new Error(
            `a training sample has label ${label}; the classifier has classes 0..${classes - 1}`,
          );
      }
      const shape = [c.batch, c.inChans, c.imageSize, c.imageSize] as const;
      const mixed = mixBatch(rng, batch.images, shape, batch.labels, { ...o.finetune.mixup, classes });
      return {
        [FINETUNE_INPUTS.images]: tensorData('float32', [...shape], mixed.images),
        [FINETUNE_INPUTS.targets]: tensorData('float32', [c.batch, classes], mixed.targets),
        ...(c.dropPathRate > 0
          ? { [FINETUNE_INPUTS.keep]: dropPathKeep(rng, c.depth, c.batch, c.dropPathRate) }
          : {}),
      };
    },
    evaluate: async (step, params) => {
      if (step % o.finetune.evalEvery !== 0 && step !== o.totalSteps) return undefined;
      const score = await evaluateClassifier(session, reader, {
        channels: c.inChans,
        size: c.imageSize,
        classes,
        params: await params(),
      });
      return { val_top1: score.top1, val_loss: score.loss, val_samples: score.count };
    },
    describe: (step, e) =>
      `step ${step}: validation top-1 ${(100 * e.val_top1).toFixed(2)}%, loss ${e.val_loss.toFixed(4)} (${e.val_samples} images)`,
    summarize: (e) => `val top-1 ${(100 * e.val_top1).toFixed(1)}%`,
    release: () => session.release(),
  };
}
