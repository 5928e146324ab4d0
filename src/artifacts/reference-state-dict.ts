import { CaeConfig, gridOf } from '../graph-builder/cae/config';
import { sincosTable } from '../graph-builder/cae/sincos';
import { tensorData, TensorData } from '../graph-builder/core/tensor-data';

/** The frozen position table as the reference stores it: [1, 1 + N, D] with a zero cls row. */
export function positionParameter(side: number, dim: number): TensorData {
  const table = sincosTable(side, dim);
  const out = new Float32Array((1 + side * side) * dim);
  out.set(table.data, dim);
  return tensorData('float32', [1, 1 + side * side, dim], out);
}

/**
 * Our parameters plus what the reference PyTorch model's state_dict also holds, so that
 * params.safetensors loads into it with strict=True: the frozen position tables `encoder.pos_embed`
 * and `rd_pos_embed`, and `alignment_encoder.*`, the reference's copy of the encoder (equal to it at
 * every checkpoint, since the reference copies the weights each step). Extra tensors share memory with
 * the parameters they copy.
 */
export function referenceStateDict(
  c: CaeConfig,
  params: ReadonlyMap<string, TensorData>,
): Map<string, TensorData> {
  const { side } = gridOf(c);
  const out = new Map(params);
  // A learned table is a parameter already; CAE's fixed one is written for the reference.
  const encoderPos = params.get('encoder.pos_embed') ?? positionParameter(side, c.embedDim);
  out.set('encoder.pos_embed', encoderPos);
  out.set('rd_pos_embed', positionParameter(side, c.decoderEmbedDim));
  for (const [name, value] of params) {
    if (name.startsWith('encoder.')) out.set(`alignment_${name}`, value);
  }
  out.set('alignment_encoder.pos_embed', encoderPos);
  return out;
}

/** Names written only for the reference (see referenceStateDict). */
export function referenceOnlyNames(c: CaeConfig, params: ReadonlyMap<string, TensorData>): string[] {
  return [...referenceStateDict(c, params).keys()].filter((k) => !params.has(k));
}
