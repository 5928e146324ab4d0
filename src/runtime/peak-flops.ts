import { Graph } from '../graph-builder/core/graph';
import { tensorData } from '../graph-builder/core/tensor-data';
import * as op from '../graph-builder/ops';
import { toModelProto } from '../graph-builder/onnx/to-model-proto';
import { ModelSession, SessionConfig } from './session';

/**
 * Peak MatMul throughput of this machine under the given session options: a chain of four
 * n x n x n MatMuls (only a scalar leaves the session, so output copies do not count). GFLOP/s.
 */
export async function measurePeakMatmul(config: SessionConfig = {}, n = 1024, runs = 3): Promise<number> {
  const g = new Graph('peak');
  const a = g.input('a', 'float32', [n, n]);
  const b = g.input('b', 'float32', [n, n]);
  let x = a;
  for (let i = 0; i < 4; i++) x = op.matmul(x, b);
  g.output('y', op.reduceSum(x));
  const session = await ModelSession.create(toModelProto(g, { paramsAs: 'inputs' }), config);
  const value = new Float32Array(n * n).fill(1 / n);
  const feeds = { a: tensorData('float32', [n, n], value), b: tensorData('float32', [n, n], value) };
  await session.run(feeds);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(feeds);
    best = Math.min(best, performance.now() - t);
  }
  await session.release();
  return (4 * 2 * n ** 3) / (best / 1000) / 1e9;
}
