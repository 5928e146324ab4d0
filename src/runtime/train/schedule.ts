export interface LrSchedule {
  readonly baseLr: number;
  readonly minLr: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
}

/**
 * The reference's per-iteration schedule (BEiT/CAE `cosine_scheduler`): linear warmup from 0 to baseLr
 * over warmupSteps, then cosine from baseLr to minLr over the remaining steps. `step` is 1-based.
 */
export function learningRate(s: LrSchedule, step: number): number {
  const i = step - 1;
  if (i < s.warmupSteps) return s.warmupSteps <= 1 ? s.baseLr : (s.baseLr * i) / (s.warmupSteps - 1);
  const decay = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, (i - s.warmupSteps) / decay);
  return s.minLr + 0.5 * (s.baseLr - s.minLr) * (1 + Math.cos(Math.PI * t));
}
