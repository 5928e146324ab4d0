import { defaultAugment } from '../data/augment-defaults';
import type { LoaderSource } from '../data/types';
import type { CaeConfig } from '../../graph-builder/cae/config';
import type { RunOptions } from './run-options';

/**
 * The recipes' defaults, in one place for the CLI and library users: learning rates scaled with the
 * total batch, warmup as a fraction of the schedule, layer decay per model size.
 */

/** Warmup as a fraction of the run, pretraining and fine-tuning alike (the reference: 5 of 100 epochs). */
export const WARMUP_FRACTION = 0.05;

/** Pretraining warmup in updates: 5% of them, at least one. */
export const pretrainingWarmupSteps = (steps: number): number =>
  Math.max(1, Math.round(WARMUP_FRACTION * steps));

/** Pretraining lr: the recipe's 1.5e-3 at batch 2048 scaled linearly, 1e-3 for the cae-tiny presets. */
export function pretrainingLr(preset: string, totalBatch: number): number {
  return preset.startsWith('cae-tiny') ? 1e-3 : (1.5e-3 * totalBatch) / 2048;
}

/**
 * Fine-tuning lr: the reference's 8e-3 for a total batch of 4096 (cae_base_finetune.sh) scaled
 * linearly; 2e-3 for the cae-tiny presets, whose short schedules on small data need a larger step.
 */
export function finetuningLr(preset: string, totalBatch: number): number {
  return preset.startsWith('cae-tiny') ? 2e-3 : (8e-3 * totalBatch) / 4096;
}

/** Layer-wise lr decay of the reference's scripts: 0.65 for ViT-B and smaller, 0.75 for ViT-L. */
export const finetuningLayerDecay = (preset: string): number => (preset.includes('large') ? 0.75 : 0.65);

/** A pretraining run as a library user asks for it: what is left out takes the CLI's defaults. */
export interface PretrainingRequest {
  /** A build folder (cae-onnx build); its manifest gives the preset and batch the defaults depend on. */
  readonly buildDir: string;
  readonly data: LoaderSource;
  readonly steps?: number;
  readonly lr?: number;
  readonly minLr?: number;
  readonly warmupSteps?: number;
  readonly seed?: number;
  /** Micro-batches per update over all ranks. */
  readonly accumulate?: number;
  /** false: no crops or flips; otherwise the preset's crops, with these overrides. */
  readonly augment?: false | { readonly scale?: readonly [number, number]; readonly flip?: boolean };
  readonly alignmentDropPath?: boolean;
  readonly limit?: number;
  readonly checkpointEvery?: number;
  readonly threads?: number;
}

/** The defaults of `cae-onnx train`: 1000 steps, checkpoints every 200, lr and warmup as above. */
export const PRETRAINING_DEFAULTS = { steps: 1000, minLr: 1e-5, seed: 0, checkpointEvery: 200 };

/**
 * A complete RunOptions for pretraining a build of `config`, with `cae-onnx train`'s defaults where the
 * request is silent (no file system here: the browser page uses it; pretraining-request.ts reads the build).
 */
export function pretrainingRunOptionsFor(config: CaeConfig, r: PretrainingRequest): RunOptions {
  const steps = r.steps ?? PRETRAINING_DEFAULTS.steps;
  const accumulate = r.accumulate ?? 1;
  return {
    buildDir: r.buildDir,
    data: r.data,
    steps,
    schedule: {
      baseLr: r.lr ?? pretrainingLr(config.preset, config.batch * accumulate),
      minLr: r.minLr ?? PRETRAINING_DEFAULTS.minLr,
      warmupSteps: r.warmupSteps ?? pretrainingWarmupSteps(steps),
      totalSteps: steps,
    },
    seed: r.seed ?? PRETRAINING_DEFAULTS.seed,
    accumulate,
    augment: r.augment === false ? false : defaultAugment(config.preset, r.data.kind, r.augment ?? {}),
    alignmentDropPath: r.alignmentDropPath ?? true,
    limit: r.limit,
    checkpointEvery: r.checkpointEvery ?? PRETRAINING_DEFAULTS.checkpointEvery,
    threads: r.threads,
  };
}
