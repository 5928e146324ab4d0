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
