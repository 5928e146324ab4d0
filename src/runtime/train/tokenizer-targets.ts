import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import type { ModelSession } from '../session';

/**
 * Token targets from an image tokenizer: argmax over its logits [B, V, s, s] gives the id of each of
 * the s*s patches (row-major); the ids at each sample's masked positions form target_tokens [B, Nm].
 */
export async function tokenizerTargets(
  session: ModelSession,
  images: TensorData,
  maskedIndex: BigInt64Array,
  numMasked: number,
): Promise<TensorData> {
  const out = await session.run({ [session.inputNames[0]]: images });
  const logits = out[session.outputNames[0]];
  const [b, v, h, w] = logits.shape;
  const cells = h * w;
  const data = logits.data as Float32Array;
  const targets = new BigInt64Array(b * numMasked);
  for (let s = 0; s < b; s++) {
    for (let k = 0; k < numMasked; k++) {
      const cell = Number(maskedIndex[s * numMasked + k]);
      let best = 0;
      let bestValue = -Infinity;
      for (let c = 0; c < v; c++) {
        const value = data[(s * v + c) * cells + cell];
        if (value > bestValue) {
          bestValue = value;
          best = c;
        }
      }
      targets[s * numMasked + k] = BigInt(best);
    }
  }
  return tensorData('int64', [b, numMasked], targets);
}
