import { MAX_KERNEL_TENSORS } from '../../src/graph-builder/ops/op-helpers';
import { asModel, emittedGraphs } from '../helpers/emitted-graphs';

/** Tensors a node binds on a GPU: every input and output except int64 constants (shapes, sizes, axes). */
function boundTensors(model: ReturnType<typeof asModel>) {
  const constants = new Set(
    (model.graph?.initializer ?? []).filter((t) => t.dataType === 7).map((t) => t.name),
  );
  return (model.graph?.node ?? []).map((n) => ({
    node: `${n.opType} ${n.name}`,
    count: (n.input ?? []).filter((i) => i.length > 0 && !constants.has(i)).length + (n.output ?? []).length,
  }));
}

describe.each(emittedGraphs())('$name', ({ graph }) => {
  const model = asModel(graph);

  test(`no node binds more than ${MAX_KERNEL_TENSORS} tensors (WebGPU's storage buffers per shader)`, () => {
    const wide = boundTensors(model).filter((n) => n.count > MAX_KERNEL_TENSORS);
    expect(wide).toEqual([]);
  });

  test('no Sum node (WebGPU has no Sum kernel)', () => {
    expect((model.graph?.node ?? []).filter((n) => n.opType === 'Sum').map((n) => n.name)).toEqual([]);
  });
});
