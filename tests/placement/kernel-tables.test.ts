import { OP_SPECS } from '../../src/graph-builder/ops';
import { DEFAULT_OPSET_FOR_EP } from '../../src/runtime/placement/default-opset';
import {
  kernelGap,
  kernelTableFor,
  missingKernels,
  parseKernelTable,
} from '../../src/runtime/placement/kernel-tables';
import { nodeKind, tensorFacts } from '../../src/runtime/placement/node-kinds';
import { ONNX_SCHEMA_VERSIONS, schemaVersion } from '../../src/runtime/placement/onnx-schema-versions';
import { asModel, emittedGraphs } from '../helpers/emitted-graphs';

const graphs = emittedGraphs();

/** Compute nodes of a graph at an opset with no kernel in the provider's table. */
function computeGaps(ep: 'cuda' | 'dml', opset: number): string[] {
  return graphs.flatMap((e) => {
    const model = asModel(e.graph, opset);
    const facts = tensorFacts(model);
    return missingKernels(model, kernelTableFor(ep))
      .filter((m) => nodeKind(m.node, facts) === 'compute')
      .map((m) => `${e.name}: ${m.node.name}: ${m.reason}`);
  });
}

test('every op the builder emits has its ONNX schema versions listed', () => {
  expect([...OP_SPECS.keys()].filter((op) => !ONNX_SCHEMA_VERSIONS[op])).toEqual([]);
  expect(schemaVersion('Transpose', 20)).toBe(13);
  expect(schemaVersion('Transpose', 21)).toBe(21);
  expect(schemaVersion('Gelu', 19)).toBeUndefined();
});

describe.each(['cuda', 'dml'] as const)('%s kernel registrations', (ep) => {
  const table = kernelTableFor(ep);

  test(`at the default opset for --ep ${ep}, every compute node of every graph we emit has a kernel`, () => {
    expect(computeGaps(ep, DEFAULT_OPSET_FOR_EP[ep])).toEqual([]);
  });

  test('the table was made from ONNX Runtime source and covers the core ops', () => {
    expect(table.source).toMatch(/microsoft\/onnxruntime .* @ [0-9a-f]{40}/);
    for (const op of ['MatMul', 'Gemm', 'Softmax', 'LayerNormalization', 'Add', 'Mul', 'Transpose'])
      expect(kernelGap(table, op, DEFAULT_OPSET_FOR_EP[ep], 'float')).toBeUndefined();
  });
});

test('a kernel the table lacks is reported with the op, schema and what is registered', () => {
  const table = parseKernelTable(
    {
      source: 'test',
      kernels: {
        Transpose: [
          [1, 12, null],
          [13, 20, null],
        ],
        Add: [[14, null, ['float']]],
      },
      typedInput: {},
    },
    'test',
  );
  expect(kernelGap(table, 'Transpose', 20, 'float')).toBeUndefined();
  expect(kernelGap(table, 'Transpose', 21, 'float')).toBe(
    'Transpose-21 (opset 21) not registered; registered: 1-12, 13-20',
  );
  expect(kernelGap(table, 'Add', 21, 'int64_t')).toBe('Add-14 has no int64_t kernel (types: float)');
  expect(kernelGap(table, 'Gelu', 21, 'float')).toBe('no Gelu kernel at all');
  expect(() => parseKernelTable({ source: 'x', kernels: { Add: [['7']] } }, 'bad')).toThrow(/Add: bad range/);
});

test("the CUDA table has no Gelu kernel, so opset-20/21 graphs would leave the MLP's GELU on the CPU", () => {
  expect(computeGaps('cuda', 21).some((g) => /no Gelu kernel/.test(g))).toBe(true);
});
