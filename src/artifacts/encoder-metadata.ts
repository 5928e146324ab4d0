import type { onnx } from 'onnx-proto';
import type { Manifest } from './manifest';

/** What a deployed encoder.onnx says about its expected input (ONNX metadata_props). */
export interface EncoderMetadata {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly patchSize?: number;
  readonly preset?: string;
}

/** Metadata written into encoder.onnx by build and export. */
export function encoderMetadata(m: Manifest): Record<string, string> {
  return {
    'cae_onnx.normalization': JSON.stringify(m.normalization),
    'cae_onnx.patch_size': String(m.config.patchSize),
    'cae_onnx.preset': m.config.preset,
  };
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
  };
}
