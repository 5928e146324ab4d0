import { FileFormatError } from './file-format-error';
import type { onnx } from 'onnx-proto';
import type { Manifest } from './manifest';

/** What a deployed encoder.onnx says about its expected input (ONNX metadata_props). */
export interface EncoderMetadata {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly patchSize?: number;
  readonly preset?: string;
  /** The run folder and checkpoint step the weights came from (cae-onnx export of a run). */
  readonly trainedIn?: TrainedIn;
}

/** Where an exported model's weights were trained: results measured on it are recorded there. */
export interface TrainedIn {
  readonly run: string;
  readonly step: number;
}

/** Metadata written into encoder.onnx by build and export. */
export function encoderMetadata(
  m: Pick<Manifest, 'normalization' | 'config'>,
  trainedIn?: TrainedIn,
): Record<string, string> {
  return {
    'cae_onnx.normalization': JSON.stringify(m.normalization),
    'cae_onnx.patch_size': String(m.config.patchSize),
    'cae_onnx.preset': m.config.preset,
    ...(trainedIn ? { [TRAINED_IN]: JSON.stringify(trainedIn) } : {}),
  };
}

const TRAINED_IN = 'cae_onnx.trained_in';

function readTrainedIn(value: string | undefined): TrainedIn | undefined {
  if (!value) return undefined;
  try {
    const t = JSON.parse(value) as Partial<TrainedIn>;
    return typeof t.run === 'string' && typeof t.step === 'number' ? { run: t.run, step: t.step } : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the metadata back; undefined when the model was not written by cae-onnx. */
export function readEncoderMetadata(model: onnx.IModelProto): EncoderMetadata | undefined {
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const normalization = props.get('cae_onnx.normalization');
  if (!normalization) return undefined;
  const parsed = JSON.parse(normalization) as { mean: number[]; std: number[] };
  const patch = props.get('cae_onnx.patch_size');
  return {
    mean: parsed.mean,
    std: parsed.std,
    patchSize: patch ? Number(patch) : undefined,
    preset: props.get('cae_onnx.preset'),
    trainedIn: readTrainedIn(props.get(TRAINED_IN)),
  };
}

/** What a deployed classifier.onnx says about itself: its input normalization and class names. */
export interface ClassifierMetadata extends EncoderMetadata {
  readonly classNames: readonly string[];
}

const CLASS_NAMES = 'cae_onnx.class_names';

/** Metadata written into classifier.onnx: the encoder's, plus the class names in class-id order. */
export function classifierMetadata(m: Manifest): Record<string, string> {
  if (!m.task) throw new Error('not a fine-tuning manifest: no classes');
  return {
    ...encoderMetadata(m),
    'cae_onnx.task': m.task.kind,
    [CLASS_NAMES]: JSON.stringify(m.task.classNames),
  };
}

/** Reads a classifier's metadata back; undefined when the model was not written by cae-onnx finetune. */
export function readClassifierMetadata(model: onnx.IModelProto): ClassifierMetadata | undefined {
  const encoder = readEncoderMetadata(model);
  const names = (model.metadataProps ?? []).find((p) => p.key === CLASS_NAMES)?.value;
  if (!encoder || !names) return undefined;
  const classNames: unknown = JSON.parse(names);
  if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string'))
    throw new FileFormatError(`${CLASS_NAMES} in the model's metadata is not a list of names`);
  return { ...encoder, classNames };
}
