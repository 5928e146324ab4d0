import type { InitSpec, Param } from '../graph-builder/core/graph';
import { sizeOf, tensorData, TensorData } from '../graph-builder/core/tensor-data';
import { Rng } from '../random/rng';

function fill(init: InitSpec, n: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  switch (init.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'constant':
      return out.fill(init.value);
    case 'xavier_uniform': {
      const bound = Math.sqrt(6 / (init.fanIn + init.fanOut));
      for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * bound;
      return out;
    }
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = rng.normal() * init.std;
      return out;
    case 'trunc_normal': {
      // Resampling outside the bounds, as timm's trunc_normal_ (CAE calls it with bounds +-std).
      const limit = init.limit ?? 2;
      for (let i = 0; i < n; i++) {
        let v: number;
        do v = rng.normal();
        while (Math.abs(v) > limit);
        out[i] = v * init.std;
      }
      return out;
    }
  }
}

/** Initial values of every parameter, drawn in declaration order from one seeded generator. */
export function initializeParams(params: readonly Param[], seed: number): Map<string, TensorData> {
  const rng = new Rng(seed);
  const values = new Map<string, TensorData>();
  for (const p of params) {
    if (p.tensor.dtype !== 'float32')
      throw new Error(`parameter ${p.name}: only float32 parameters are initialized`);
    const shape = p.tensor.shape as number[];
    values.set(p.name, tensorData('float32', shape, fill(p.init, sizeOf(shape), rng)));
  }
  return values;
}
