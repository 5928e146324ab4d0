import * as fs from 'node:fs';
import * as path from 'node:path';

/** Results measured on a run's encoder after it trained, kept in the run folder for its report. */
export const EVALUATIONS_FILE = 'evaluations.jsonl';

/** A probe of the run's exported encoder (cae-onnx probe). */
export interface ProbeEvaluation {
  readonly kind: 'probe';
  readonly time: string;
  /** The checkpoint step the encoder was exported from. */
  readonly step?: number;
  readonly mode: string;
  readonly pool: string;
  readonly data: string;
  readonly val: string;
  readonly accuracy: number;
  /** The same protocol on raw pixels. */
  readonly baseline?: number;
  readonly encoder: string;
}

/** A fine-tuning run that started from this run (cae-onnx finetune --from). */
export interface FinetuneEvaluation {
  readonly kind: 'finetune';
  readonly time: string;
  readonly step?: number;
  /** The fine-tuning run's folder. */
  readonly run: string;
  readonly epochs: number;
  readonly accuracy: number;
  readonly val: string;
}

export type RunEvaluation = ProbeEvaluation | FinetuneEvaluation;

export function appendEvaluation(runDir: string, e: RunEvaluation): void {
  fs.appendFileSync(path.join(runDir, EVALUATIONS_FILE), `${JSON.stringify(e)}\n`);
}

/** The run's evaluations, oldest first; unreadable lines (a cut write) are left out. */
export function readEvaluations(runDir: string): RunEvaluation[] {
  const file = path.join(runDir, EVALUATIONS_FILE);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        const e = JSON.parse(l) as RunEvaluation;
        return e.kind === 'probe' || e.kind === 'finetune' ? [e] : [];
      } catch {
        return [];
      }
    });
}
