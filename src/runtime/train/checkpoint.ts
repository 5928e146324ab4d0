import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAll, writeFileAtomic } from '../../artifacts/atomic-write';
import { Manifest, MANIFEST_FILE, readManifest, writeManifest } from '../../artifacts/manifest';
import { readSafetensors, writeSafetensors } from '../../artifacts/safetensors';
import type { TensorData } from '../../graph-builder/core/tensor-data';
import {
  Checkpoint,
  CHECKPOINT_OPTIMIZER as OPTIMIZER,
  CHECKPOINT_PARAMS as PARAMS,
  CHECKPOINT_STATE as STATE,
  checkpointContents,
  CHECKPOINTS,
  RecordedOptions,
  stepDir,
  TrainState,
} from './checkpoint-format';

export { CHECKPOINTS } from './checkpoint-format';
export type { Checkpoint, TrainState } from './checkpoint-format';

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
  const contents = checkpointContents(manifest, params, optimizer, state);
  writeSafetensors(path.join(tmp, PARAMS), contents.params.tensors, contents.params.metadata);
  writeSafetensors(path.join(tmp, OPTIMIZER), contents.optimizer.tensors, contents.optimizer.metadata);
  writeManifest(tmp, manifest);
  writeFileAtomic(path.join(tmp, STATE), (fd) => writeAll(fd, Buffer.from(contents.state)));
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
