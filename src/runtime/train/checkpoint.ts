import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeFileAtomic } from '../../artifacts/atomic-write';
import { Manifest, MANIFEST_FILE, readManifest, writeManifest } from '../../artifacts/manifest';
import { referenceStateDict } from '../../artifacts/reference-state-dict';
import { readSafetensors, writeSafetensors } from '../../artifacts/safetensors';
import type { TensorData } from '../../graph-builder/core/tensor-data';

export const CHECKPOINTS = 'checkpoints';
const PARAMS = 'params.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const STATE = 'state.json';

/** The options a checkpoint records: a training run's (RunOptions), or an import's record. */
type RecordedOptions = Readonly<Record<string, unknown>>;

/** Everything besides tensors that a resumed run needs to continue exactly. */
export interface TrainState<Options extends object = RecordedOptions> {
  /** Updates completed. */
  readonly step: number;
  /** Where the data loader continues. */
  readonly data: { readonly epoch: number; readonly position: number };
  readonly seed: number;
  readonly totalSteps: number;
  /** The run's options as given (for resume checks and the record). */
  readonly options: Options;
  readonly elapsedSeconds: number;
  readonly lastLoss?: number;
}

export interface Checkpoint<Options extends object = RecordedOptions> {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly params: Map<string, TensorData>;
  readonly optimizer: Map<string, TensorData>;
  readonly state: TrainState<Options>;
}

const stepDir = (step: number) => `step-${String(step).padStart(8, '0')}`;

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a checkpoint under `<run>/checkpoints/step-N/` atomically: everything goes to a temporary
 * folder that is renamed into place only when complete, so a run killed at any moment (SIGKILL
 * included) leaves the previous checkpoint intact and loadable. Keeps the newest `keep` checkpoints.
 */
export function writeCheckpoint(
  runDir: string,
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  optimizer: ReadonlyMap<string, TensorData>,
  state: TrainState<object>,
  keep = 2,
): string {
  const root = path.join(runDir, CHECKPOINTS);
  fs.mkdirSync(root, { recursive: true });
  const final = path.join(root, stepDir(state.step));
  const tmp = path.join(root, `.${stepDir(state.step)}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  // Pretraining checkpoints also hold what the PyTorch reference's state_dict needs; classifiers hold ours.
  const tensors = manifest.task ? params : referenceStateDict(manifest.config, params);
  writeSafetensors(path.join(tmp, PARAMS), tensors, {
    format: 'cae-onnx',
    step: String(state.step),
  });
  writeSafetensors(path.join(tmp, OPTIMIZER), optimizer, { step: String(state.step) });
  writeManifest(tmp, manifest);
  writeFileAtomic(path.join(tmp, STATE), (fd) =>
    writeAll(fd, Buffer.from(`${JSON.stringify(state, null, 2)}\n`)),
  );
  fsyncDir(tmp);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  fsyncDir(root);
  for (const old of listCheckpoints(runDir).slice(0, -keep)) fs.rmSync(old, { recursive: true, force: true });
  return final;
}

/** Complete checkpoints of a run, oldest first (temporary folders of interrupted writes are ignored). */
export function listCheckpoints(runDir: string): string[] {
  const root = path.join(runDir, CHECKPOINTS);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => /^step-\d+$/.test(d) && fs.existsSync(path.join(root, d, STATE)))
    .sort()
    .map((d) => path.join(root, d));
}

/** A checkpoint folder itself, or the newest checkpoint of a run folder. */
export function resolveCheckpoint(dirOrRun: string): string {
  if (fs.existsSync(path.join(dirOrRun, STATE))) return dirOrRun;
  const all = listCheckpoints(dirOrRun);
  if (all.length === 0)
    throw new Error(`${dirOrRun} holds no checkpoint (no ${STATE} and no ${CHECKPOINTS}/step-*)`);
  return all[all.length - 1];
}

/** A checkpoint's state.json alone (no tensors); `Options` is what the caller knows the run recorded. */
export function readTrainState<Options extends object = RecordedOptions>(
  checkpoint: string,
): TrainState<Options> {
  const state: TrainState<Options> = JSON.parse(fs.readFileSync(path.join(checkpoint, STATE), 'utf8'));
  return state;
}

export function readCheckpoint<Options extends object = RecordedOptions>(
  dirOrRun: string,
): Checkpoint<Options> {
  const dir = resolveCheckpoint(dirOrRun);
  const manifest = readManifest(dir);
  const names = new Set(manifest.params.map((p) => p.name));
  const params = readSafetensors(path.join(dir, PARAMS), { names: (n) => names.has(n) }).tensors;
  const missing = manifest.params.filter((p) => !params.has(p.name)).map((p) => p.name);
  if (missing.length > 0)
    throw new Error(`${dir}/${PARAMS} lacks ${missing.length} parameters, e.g. ${missing[0]}`);
  const optimizer = readSafetensors(path.join(dir, OPTIMIZER)).tensors;
  const state = readTrainState<Options>(dir);
  return { dir, manifest, params, optimizer, state };
}

export const isCheckpointOrBuild = (dir: string): boolean => fs.existsSync(path.join(dir, MANIFEST_FILE));

/** The run folder a checkpoint folder belongs to (<run>/checkpoints/step-N), if it is in one. */
export function runOfCheckpoint(checkpoint: string): string | undefined {
  const parent = path.dirname(path.resolve(checkpoint));
  return path.basename(parent) === CHECKPOINTS ? path.dirname(parent) : undefined;
}
