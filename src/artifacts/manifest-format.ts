import { FileFormatError } from './file-format-error';
import type { CaeConfig } from '../graph-builder/cae/config';
import type { DType } from '../graph-builder/core/dtype';
import type { Dim } from '../graph-builder/core/shape';

/* What a build folder's manifest.json holds, and its text (no file system: the browser page uses it too). */

export const MANIFEST_FORMAT = 1;
export const MANIFEST_FILE = 'manifest.json';

export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export interface ParamSpec extends TensorSpec {
  readonly trainable: boolean;
  readonly weightDecay: boolean;
  /** Multiplier of the learning rate (fine-tuning's layer-wise decay); absent: 1. */
  readonly lrScale?: number;
}

export interface GraphSpec {
  readonly file: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Matmul FLOPs of one run (2 per multiply-add). */
  readonly matmulFlops: number;
}

export interface OptimizerSpec {
  readonly name: 'adamw';
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly clipGradNorm?: number;
  /** Per-parameter state inputs are `<slot>.<param>`; outputs `<input>.next`. */
  readonly stateSlots: readonly string[];
}

export interface TokenizerSpec {
  /** The tokenizer model, copied next to the manifest. */
  readonly file: string;
  readonly inputSize: number;
  readonly inChans: number;
  readonly vocabSize: number;
  /** Pixel mapping before the tokenizer, applied to [0, 1] images: x -> scale * x + shift (DALL-E: 0.8, 0.1). */
  readonly scale: number;
  readonly shift: number;
}

/** A fine-tuning build: a classifier over the encoder (`cae-onnx finetune`). */
export interface ClassificationSpec {
  readonly kind: 'classification';
  readonly classes: number;
  /** One name per class id. */
  readonly classNames: readonly string[];
  /** Layer-wise lr decay (1: none); each parameter's resulting scale is its `lrScale`. */
  readonly layerDecay: number;
  /** Where the encoder weights came from: a checkpoint or build folder, or 'random'. */
  readonly initializedFrom: string;
}

/** Graphs of a build, by role. Pretraining has eval_step and encoder; fine-tuning has classifier. */
export type GraphName = 'train_step' | 'grad_step' | 'eval_step' | 'encoder' | 'classifier';

/** What `cae-onnx build` (or `finetune`) writes and every later command reads. */
export interface Manifest {
  readonly format: number;
  readonly createdBy: string;
  readonly config: CaeConfig;
  readonly seed: number;
  /** ONNX opset of the graphs (absent in builds before it was recorded: 21). */
  readonly opset?: number;
  readonly grid: {
    readonly side: number;
    readonly numPatches: number;
    readonly numVisible: number;
    readonly numMasked: number;
  };
  /** Image normalization the data pipeline applies before `images` (ImageNet statistics by default). */
  readonly normalization: { readonly mean: readonly number[]; readonly std: readonly number[] };
  readonly params: readonly ParamSpec[];
  /** Tensors written to params.safetensors only so that PyTorch's reference model loads it strictly. */
  readonly referenceOnly: readonly string[];
  readonly optimizer: OptimizerSpec;
  readonly graphs: Readonly<Record<'train_step' | 'grad_step', GraphSpec>> &
    Readonly<Partial<Record<Exclude<GraphName, 'train_step' | 'grad_step'>, GraphSpec>>>;
  readonly tokenizer?: TokenizerSpec;
  /** Present in fine-tuning builds. */
  readonly task?: ClassificationSpec;
}

/** manifest.json's text. */
export function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** A manifest from its text; `file` names it in errors. */
export function parseManifest(text: string, file: string): Manifest {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new FileFormatError(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (manifest.format !== MANIFEST_FORMAT) {
    throw new FileFormatError(
      `${file} has format ${manifest.format}; this cae-onnx reads format ${MANIFEST_FORMAT}`,
    );
  }
  return manifest;
}
