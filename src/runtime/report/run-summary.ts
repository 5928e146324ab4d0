import * as fs from 'node:fs';
import * as path from 'node:path';
import { Manifest, readManifest } from '../../artifacts/manifest';
import type { LoaderOptions } from '../data/loader';
import { listCheckpoints, readTrainState, TrainState } from '../train/checkpoint';
import { METRICS_FILE, readMetrics, StepMetrics } from '../train/metrics-log';
import type { RunOptions } from '../train/run-options';
import { readEvaluations, RunEvaluation } from './evaluations';
import { readReconstructionRecord, ReconstructionRecord } from './run-reconstruction';

export interface CheckpointEntry {
  readonly dir: string;
  readonly step: number;
  readonly bytes: number;
  readonly time: Date;
}

/** Everything a run folder says about the run, read from its files alone. */
export interface RunSummary {
  readonly runDir: string;
  readonly manifest: Manifest;
  /** The newest checkpoint's state: the run's options, steps done, elapsed time. */
  readonly state: TrainState<RunOptions>;
  readonly checkpoints: readonly CheckpointEntry[];
  readonly records: readonly StepMetrics[];
  readonly evaluations: readonly RunEvaluation[];
  readonly reconstruction?: ReconstructionRecord;
}

const folderBytes = (dir: string): number =>
  fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);

/**
 * Whether a folder is a checkpoint written by a training run: not a build (no state), not one
 * written by `cae-onnx import` (no schedule).
 */
export function isTrainingCheckpoint(dir: string): boolean {
  try {
    return isTrainingState(readTrainState(dir));
  } catch {
    return false;
  }
}

const isTrainingState = (state: TrainState<object>): boolean => {
  const options: Partial<RunOptions> = state.options;
  return options.schedule !== undefined && options.data !== undefined;
};

/** The run folder's summary; undefined when it holds no checkpoint of a training run. */
export function readRunSummary(runDir: string): RunSummary | undefined {
  const dirs = listCheckpoints(runDir);
  const states = dirs.map((dir) => readTrainState<RunOptions>(dir));
  const state = states.at(-1);
  if (!state || !isTrainingState(state)) return undefined;
  const checkpoints = dirs.map((dir, i) => ({
    dir,
    step: states[i].step,
    bytes: folderBytes(dir),
    time: fs.statSync(dir).mtime,
  }));
  return {
    runDir,
    manifest: readManifest(dirs[dirs.length - 1]),
    state,
    checkpoints,
    records: readMetrics(path.join(runDir, METRICS_FILE)),
    evaluations: readEvaluations(runDir),
    reconstruction: readReconstructionRecord(runDir),
  };
}

/** The data a run trained on, in a few words: "MNIST (train)", "photos/ (folder)". */
export function describeData(source: LoaderOptions['source']): string {
  switch (source.kind) {
    case 'mnist':
      return `MNIST (${source.split})`;
    case 'folder':
      return `${path.basename(source.dir)}/ (image folder)`;
    case 'idx':
      return `${path.basename(source.images)} (IDX)`;
    default:
      return 'images';
  }
}

/** "cae-tiny-28 on MNIST (train)": the charts' and the page's title. */
export const runTitle = (s: RunSummary): string =>
  `${s.manifest.config.preset}${s.manifest.task ? ' fine-tuning' : ''} on ${describeData(s.state.options.data)}`;
