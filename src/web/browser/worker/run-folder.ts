import { onnx } from 'onnx-proto';
import { encoderGraphModel, PARAMS_FILE } from '../../../artifacts/build-plan';
import { Manifest, MANIFEST_FILE, manifestText, parseManifest } from '../../../artifacts/manifest-format';
import { decodeSafetensors, encodeSafetensors } from '../../../artifacts/safetensors-format';
import { zipStored } from '../../../artifacts/zip-writer';
import type { TensorData } from '../../../graph-builder/core/tensor-data';
import { DEFAULT_OPSET } from '../../../graph-builder/onnx/to-model-proto';
import {
  CHECKPOINT_OPTIMIZER,
  CHECKPOINT_PARAMS,
  CHECKPOINT_STATE,
  checkpointContents,
  CHECKPOINTS,
  stepDir,
  TrainState,
} from '../../../runtime/train/checkpoint-format';
import type { RunOptions } from '../../../runtime/train/run-options';
import {
  METRICS_FILE,
  metricsLines,
  parseMetricsLines,
  StepMetrics,
} from '../../../runtime/train/step-metrics';
import type { PickedFile } from '../protocol';

/**
 * A run as the page holds it, and its folder in the CLI's layout (run-setup.ts, checkpoint.ts):
 * `build/` (manifest and step graphs), `checkpoints/step-N/` (params, optimizer, manifest, state)
 * and metrics.jsonl. Downloaded as a zip, unzipped it is a run folder that `cae-onnx train --resume`,
 * `export` and `probe` take; a run folder picked in the page continues here.
 */
export interface WebRun {
  readonly name: string;
  readonly manifest: Manifest;
  /** The files of `build/`: manifest.json and the step graphs. */
  readonly buildFiles: ReadonlyMap<string, Uint8Array>;
  readonly options: RunOptions;
  /** Where the run starts in this tab: its last checkpoint's step and data position (0 for a new run). */
  readonly start: Pick<TrainState, 'step' | 'data' | 'elapsedSeconds'>;
  readonly params: ReadonlyMap<string, TensorData>;
  /** AdamW moments; empty for a new run (zeros). */
  readonly optimizer: ReadonlyMap<string, TensorData>;
  /** metrics.jsonl records up to the start. */
  readonly history: readonly StepMetrics[];
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The build folder's files: manifest.json and the graphs the run uses (not the initial encoder). */
export function buildFolderFiles(
  manifest: Manifest,
  models: ReadonlyMap<string, onnx.ModelProto | Uint8Array>,
): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>([[MANIFEST_FILE, utf8(manifestText(manifest))]]);
  for (const [role, graph] of Object.entries(manifest.graphs)) {
    if (role === 'encoder') continue;
    const model = models.get(graph.file);
    if (!model) throw new Error(`the build lacks ${graph.file}`);
    files.set(graph.file, model instanceof Uint8Array ? model : onnx.ModelProto.encode(model).finish());
  }
  return files;
}

/** The run folder after `state.step` updates, as a zip whose top folder is the run's name. */
export function runFolderZip(
  run: WebRun,
  params: ReadonlyMap<string, TensorData>,
  optimizer: ReadonlyMap<string, TensorData>,
  state: TrainState<RunOptions>,
  metrics: readonly StepMetrics[],
): Uint8Array {
  const contents = checkpointContents(run.manifest, params, optimizer, state);
  const checkpoint = `${run.name}/${CHECKPOINTS}/${stepDir(state.step)}`;
  const files: [string, Uint8Array][] = [
    ...[...run.buildFiles].map(([f, b]) => [`${run.name}/build/${f}`, b] as [string, Uint8Array]),
    [
      `${checkpoint}/${CHECKPOINT_PARAMS}`,
      encodeSafetensors(contents.params.tensors, contents.params.metadata),
    ],
    [
      `${checkpoint}/${CHECKPOINT_OPTIMIZER}`,
      encodeSafetensors(contents.optimizer.tensors, contents.optimizer.metadata),
    ],
    [`${checkpoint}/${MANIFEST_FILE}`, utf8(manifestText(run.manifest))],
    [`${checkpoint}/${CHECKPOINT_STATE}`, utf8(contents.state)],
    [`${run.name}/${METRICS_FILE}`, utf8(metricsLines(metrics))],
  ];
  return zipStored(files);
}

/** The deployment encoder (images -> tokens) with these weights, as `cae-onnx export` writes it. */
export function encoderModel(
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  trainedIn: { run: string; step: number },
): Uint8Array {
  const { model } = encoderGraphModel(manifest, params, manifest.opset ?? DEFAULT_OPSET, trainedIn);
  return onnx.ModelProto.encode(model).finish();
}

async function read(files: ReadonlyMap<string, File>, path: string): Promise<Uint8Array> {
  const file = files.get(path);
  if (!file) throw new Error(`the picked folder has no ${path}`);
  return new Uint8Array(await file.arrayBuffer());
}

/** What a picked folder holds: a run (its newest checkpoint) or a build, checked for what the page can run. */
export async function readPickedFolder(
  name: string,
  picked: readonly PickedFile[],
): Promise<{
  manifest: Manifest;
  buildFiles: Map<string, Uint8Array>;
  params: Map<string, TensorData>;
  checkpoint?: { optimizer: Map<string, TensorData>; state: TrainState<RunOptions> };
  history: StepMetrics[];
}> {
  const files = new Map(picked.map((p) => [p.path, p.file]));
  const newest = [...files.keys()]
    .map((p) => new RegExp(`^${CHECKPOINTS}/(step-\\d+)/${CHECKPOINT_STATE}$`).exec(p)?.[1])
    .filter((d): d is string => d !== undefined)
    .sort()
    .at(-1);
  const buildDir = newest ? 'build/' : '';
  if (!files.has(`${buildDir}${MANIFEST_FILE}`)) {
    throw new Error(
      `${name} is neither a run folder (checkpoints/step-N and build/) nor a build folder (manifest.json): ` +
        'pick the folder that `cae-onnx train` or `cae-onnx build` wrote',
    );
  }
  const at = newest ? `${CHECKPOINTS}/${newest}/` : '';
  const manifest = parseManifest(
    text(await read(files, `${at}${MANIFEST_FILE}`)),
    `${name}/${at}${MANIFEST_FILE}`,
  );
  if (manifest.task)
    throw new Error(`${name} is a fine-tuning run: the page pretrains; continue it with cae-onnx finetune`);
  if (manifest.config.target !== 'pixels')
    throw new Error(`${name} predicts tokenizer targets: the page trains pixel targets only`);
  if (manifest.config.precision !== 'fp32')
    throw new Error(`${name} is a ${manifest.config.precision} build: the page trains fp32 builds`);
  const buildFiles = new Map<string, Uint8Array>();
  buildFiles.set(MANIFEST_FILE, await read(files, `${buildDir}${MANIFEST_FILE}`));
  for (const [role, graph] of Object.entries(manifest.graphs)) {
    if (role !== 'encoder') buildFiles.set(graph.file, await read(files, `${buildDir}${graph.file}`));
  }
  const names = new Set(manifest.params.map((p) => p.name));
  const paramsFile = `${at}${newest ? CHECKPOINT_PARAMS : PARAMS_FILE}`;
  const params = decodeSafetensors(await read(files, paramsFile), `${name}/${paramsFile}`, {
    names: (n) => names.has(n),
  }).tensors;
  const missing = manifest.params.find((p) => !params.has(p.name));
  if (missing) throw new Error(`${name}/${paramsFile} lacks the parameter ${missing.name}`);
  if (!newest) return { manifest, buildFiles, params, history: [] };

  const state = JSON.parse(text(await read(files, `${at}${CHECKPOINT_STATE}`))) as TrainState<RunOptions>;
  if (state.options.accumulate !== 1)
    throw new Error(
      `${name} accumulates ${state.options.accumulate} micro-batches per update: continue it in the CLI`,
    );
  const optimizer = decodeSafetensors(
    await read(files, `${at}${CHECKPOINT_OPTIMIZER}`),
    `${name}/${at}${CHECKPOINT_OPTIMIZER}`,
  ).tensors;
  const metrics = files.has(METRICS_FILE) ? text(await read(files, METRICS_FILE)) : '';
  const history = parseMetricsLines(metrics).filter((m) => m.step <= state.step);
  return { manifest, buildFiles, params, checkpoint: { optimizer, state }, history };
}
