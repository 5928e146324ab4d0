import { writeModelFile } from '../../src/artifacts/onnx-file';
import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData } from '../../src/graph-builder/core/tensor-data';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';

/** A stand-in image tokenizer: [B, 1, 14, 14] -> logits [B, 16, 7, 7] (one conv). */
export function tinyTokenizer(file: string, grid = 7): void {
  const g = new Graph('tokenizer');
  const x = g.input('image', 'float32', ['batch', 1, 2 * grid, 2 * grid]);
  const w = g.param('w', [16, 1, 2, 2]);
  g.output('logits', op.conv(x, w, undefined, { strides: [2, 2] }));
  const values = new Map([
    [
      'w',
      tensorData(
        'float32',
        [16, 1, 2, 2],
        Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      ),
    ],
  ]);
  writeModelFile(file, toModelProto(g, { paramsAs: 'initializers', paramValues: values }));
}
