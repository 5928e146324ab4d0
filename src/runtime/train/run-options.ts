import type { LoaderOptions } from '../data/loader';
import type { ProcessGroup } from '../distributed/process-group';
import type { EpChoice, ResolvedEp } from '../execution-providers';
import type { FinetuneRunOptions } from '../finetune/classification-task';
import type { LrSchedule } from './schedule';

/** What a run is: saved in every checkpoint so that --resume continues the same run exactly. */
export interface RunOptions {
  /** Build folder whose graphs and initial weights the run uses (copied into <run>/build). */
  readonly buildDir: string;
  readonly data: LoaderOptions['source'];
  readonly steps: number;
  readonly schedule: LrSchedule;
  readonly seed: number;
  /**
   * Micro-batches per update, over all ranks (>1: grad_step + host AdamW instead of the fused
   * train_step). A data-parallel run of N ranks gives each accumulate / N of them, so the update is
   * the same for any rank count that divides it.
   */
  readonly accumulate: number;
  readonly augment: LoaderOptions['augment'];
  /** Drop path stays on in the alignment pass, as in the reference. */
  readonly alignmentDropPath: boolean;
  readonly limit?: number;
  readonly checkpointEvery: number;
  readonly threads?: number;
  /** Fine-tuning builds: validation, mixup and random erasing. */
  readonly finetune?: FinetuneRunOptions;
}

export interface TrainOptions {
  readonly runDir: string;
  /** Options of a new run; omitted when resuming (they come from the checkpoint). */
  readonly run?: RunOptions;
  readonly resume?: boolean;
  /** The provider, or a choice to resolve here (the CLI resolves first, to name it in its first line). */
  readonly ep: EpChoice | ResolvedEp;
  readonly workers?: number;
  readonly logEvery: number;
  /** Stop after this many steps of this invocation (tests, time-boxed runs); a checkpoint is written. */
  readonly stopAfter?: number;
  readonly say: (line: string) => void;
  readonly status: (line: string) => void;
  /** The processes of a data-parallel run (MPI ranks); default: this process alone. */
  readonly group?: ProcessGroup;
}

export interface TrainResult {
  readonly lastStep: number;
  readonly losses: number[];
  readonly checkpoint?: string;
  readonly interrupted: boolean;
  readonly skippedImages: number;
  /** report.html of the run folder (written by rank 0). */
  readonly report?: string;
}
