/**
 * Paired step timing for the A/B benches: two train_step sessions run alternately (A B, then B A, ...),
 * one step each per round, so both see the same moments of this shared VM. Both start from the same
 * parameters and feeds, so their losses must agree (a speed-up that changes the math is not one).
 */
import * as path from 'node:path';
import { readManifest } from '../src/artifacts/manifest';
import { readSafetensors } from '../src/artifacts/safetensors';
import type { TensorData } from '../src/graph-builder/core/tensor-data';
import type { SessionConfig } from '../src/runtime/session';
import { StepSession, stepScalars } from '../src/runtime/train/step-session';

export const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** The build's train_step with its initial parameters, under `config`. */
export async function openTrainStep(
  build: string,
  config: SessionConfig,
  options: Parameters<typeof StepSession.create>[3] = {},
): Promise<StepSession> {
  const names = new Set(readManifest(build).params.map((p) => p.name));
  const params = readSafetensors(path.join(build, 'params.safetensors'), {
    names: (n) => names.has(n),
  }).tensors;
  return StepSession.create(path.join(build, 'train_step.onnx'), params, config, options);
}

export interface PairedResult {
  secondsPerStep: { a: number; b: number };
  /** Per-round B/A step-time ratio: median and quartiles. */
  ratioBOverA: { median: number; p25: number; p75: number };
  maxRelativeLossGap: number;
}

/** Runs `rounds` paired steps (after 2 untimed) and releases both sessions. */
export async function runPaired(
  sessions: Record<'a' | 'b', StepSession>,
  feeds: Record<string, TensorData>,
  rounds: number,
): Promise<PairedResult> {
  const times: Record<'a' | 'b', number[]> = { a: [], b: [] };
  const losses: Record<'a' | 'b', number[]> = { a: [], b: [] };
  const warmup = 2;
  for (let r = 0; r < rounds + warmup; r++) {
    for (const side of r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      const t = performance.now();
      const out = await sessions[side].run({ ...feeds, ...stepScalars(1e-4, r + 1) });
      if (r >= warmup) times[side].push((performance.now() - t) / 1000);
      losses[side].push(Number(out.loss.data[0]));
    }
  }
  await sessions.a.release();
  await sessions.b.release();
  const ratios = times.a.map((ta, i) => times.b[i] / ta);
  const sorted = [...ratios].sort((x, y) => x - y);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return {
    secondsPerStep: { a: median(times.a), b: median(times.b) },
    ratioBOverA: { median: median(ratios), p25: q(0.25), p75: q(0.75) },
    maxRelativeLossGap: Math.max(...losses.a.map((l, i) => Math.abs(l - losses.b[i]) / Math.abs(l))),
  };
}

/** One line: both medians, the ratio with its quartiles, the loss agreement. */
export function pairedSummary(label: string, rounds: number, r: PairedResult): string {
  return (
    `${label}: A ${r.secondsPerStep.a.toFixed(4)} s/step, B ${r.secondsPerStep.b.toFixed(4)} s/step; ` +
    `B/A median ${r.ratioBOverA.median.toFixed(3)} (quartiles ${r.ratioBOverA.p25.toFixed(3)}-${r.ratioBOverA.p75.toFixed(3)}) over ${rounds} rounds; ` +
    `losses agree to ${r.maxRelativeLossGap.toExponential(1)} (relative)`
  );
}
