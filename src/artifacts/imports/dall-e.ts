import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { toModelProto } from '../../graph-builder/onnx/to-model-proto';
import { dallEEncoderGraph, DallEEncoderSpec } from '../../graph-builder/tokenizers/dall-e-encoder';
import { writeModelFile } from '../onnx-file';
import { CAE_ONNX_VERSION } from '../version';
import { ImportError } from './vit-layouts';
import { readWeightsFile } from './weights-file';

/**
 * A pickled module's tensors under state-dict names: torch.save of a whole nn.Module (OpenAI's
 * encoder.pkl) nests them as `_modules.blocks._modules.input._parameters.w`; this gives `blocks.input.w`.
 */
export function moduleTensorNames(tensors: ReadonlyMap<string, TensorData>): Map<string, TensorData> {
  return new Map(
    [...tensors].map(([name, t]) => [name.replace(/(^|\.)_(modules|parameters|buffers)\./g, '$1'), t]),
  );
}

/** The encoder's sizes, read from its weights. */
export function dallESpec(t: ReadonlyMap<string, TensorData>, imageSize: number): DallEEncoderSpec {
  const input = t.get('blocks.input.w');
  const output = t.get('blocks.output.conv.w');
  if (!input || !output)
    throw new ImportError('not a DALL-E encoder: blocks.input.w or blocks.output.conv.w is missing');
  const blocksPerGroup = new Set(
    [...t.keys()].map((n) => /^blocks\.group_1\.block_(\d+)\./.exec(n)?.[1]).filter((i) => i !== undefined),
  ).size;
  if (imageSize % 8 !== 0) throw new ImportError(`the tokenizer input ${imageSize} is not a multiple of 8`);
  return {
    nHid: input.shape[0],
    inChans: input.shape[1],
    vocabSize: output.shape[0],
    blocksPerGroup,
    imageSize,
  };
}

/**
 * OpenAI's DALL-E d-VAE encoder (`encoder.pkl`, a pickled module, read without running it) as
 * tokenizer.onnx for `cae-onnx build --tokenizer`: image [batch, C, S, S] -> logits [batch, vocab, S/8, S/8].
 */
export async function importDallEEncoder(
  file: string,
  out: string,
  imageSize = 112,
): Promise<{ spec: DallEEncoderSpec; tensors: number }> {
  const tensors = moduleTensorNames((await readWeightsFile(file)).tensors);
  const spec = dallESpec(tensors, imageSize);
  const graph = dallEEncoderGraph(spec);
  const values = new Map<string, TensorData>();
  for (const p of graph.params) {
    const t = tensors.get(p.name);
    if (!t) throw new ImportError(`${p.name} is missing`);
    const want = p.tensor.shape as number[];
    if (t.shape.join(',') !== want.join(','))
      throw new ImportError(`${p.name} is [${t.shape}] in the file; the encoder needs [${want}]`);
    values.set(
      p.name,
      t.dtype === 'float32'
        ? t
        : tensorData('float32', t.shape, Float32Array.from(t.data as ArrayLike<number>)),
    );
  }
  writeModelFile(
    out,
    toModelProto(graph, { paramsAs: 'initializers', paramValues: values, producerVersion: CAE_ONNX_VERSION }),
  );
  return { spec, tensors: values.size };
}
