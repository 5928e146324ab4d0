import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { CaeConfig, gridOf } from '../graph-builder/cae/config';
import { rawBytes } from '../graph-builder/core/tensor-data';
import { readInitializers, readModelFile, writeModelFile } from './onnx-file';
import type { TokenizerSpec } from './manifest';

export const TOKENIZER_FILE = 'tokenizer.onnx';

const dims = (v: onnx.IValueInfoProto | undefined) =>
  (v?.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));

/**
 * Checks an image-tokenizer model (image [B, C, h, w] -> logits [B, vocab, gh, gw], e.g. an exported
 * DALL-E encoder) against the model config: its token grid must equal the patch grid. Returns its spec.
 */
export function inspectTokenizer(
  file: string,
  c: CaeConfig,
  mapping = { scale: 0.8, shift: 0.1 },
): TokenizerSpec {
  if (!fs.existsSync(file)) throw new Error(`no such tokenizer model: ${file}`);
  const model = readModelFile(file);
  const graph = model.graph;
  const inputs = (graph?.input ?? []).filter(
    (i) => !(graph?.initializer ?? []).some((t) => t.name === i.name),
  );
  if (inputs.length !== 1 || (graph?.output ?? []).length < 1) {
    throw new Error(`tokenizer ${file} must have one image input and a logits output`);
  }
  const [, inChans, h, w] = dims(inputs[0]);
  const [, vocab, gh, gw] = dims(graph!.output![0]);
  for (const [what, v] of Object.entries({
    channels: inChans,
    height: h,
    width: w,
    vocabulary: vocab,
    'grid height': gh,
    'grid width': gw,
  })) {
    if (typeof v !== 'number' || !(v > 0))
      throw new Error(`tokenizer ${file}: its ${what} must be static, got ${v}`);
  }
  const { side } = gridOf(c);
  if (gh !== side || gw !== side) {
    throw new Error(
      `tokenizer ${file} makes a ${gh}x${gw} token grid; the model has ${side}x${side} patches`,
    );
  }
  if (inChans !== c.inChans)
    throw new Error(`tokenizer ${file} takes ${inChans} channels; the model ${c.inChans}`);
  if (h !== w) throw new Error(`tokenizer ${file} input must be square, got ${h}x${w}`);
  return {
    file: TOKENIZER_FILE,
    inputSize: h as number,
    inChans: inChans as number,
    vocabSize: vocab as number,
    ...mapping,
  };
}

/** Writes the tokenizer into the build folder, its weights (external data included) re-homed there. */
export function copyTokenizer(file: string, outDir: string): void {
  const model = readModelFile(file);
  const weights = readInitializers(file, model);
  const initializer = (model.graph?.initializer ?? []).map((t) =>
    onnx.TensorProto.create({
      name: t.name,
      dataType: t.dataType,
      dims: t.dims,
      rawData: rawBytes(weights.get(t.name ?? '')!),
    }),
  );
  const copy = onnx.ModelProto.create({ ...model, graph: { ...model.graph, initializer } });
  writeModelFile(path.join(outDir, TOKENIZER_FILE), copy);
}
