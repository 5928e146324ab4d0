import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readManifest } from '../../src/artifacts/manifest';
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
import { cli } from '../helpers/cli';
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
    expect(table.source).toMatch(/^microsoft\/onnxruntime onnxruntime\/core\/providers\/(cuda|dml)\//);
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

describe('the CLI', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-kernels-'));

  test('build --ep cuda writes opset-19 graphs, which info --ep cuda finds complete', async () => {
    const out = path.join(dir, 'cuda');
    expect((await cli('build', '--ep', 'cuda', '--batch', '2', '--out', out)).code).toBe(0);
    expect(readManifest(out).opset).toBe(DEFAULT_OPSET_FOR_EP.cuda);
    const info = await cli('info', out, '--ep', 'cuda');
    expect(info.code).toBe(0);
    expect(info.stdout.match(/compute nodes off the provider: none/g)).toHaveLength(4);
  });

  test('inspect --ep cuda on an opset-21 encoder lists the GELUs without a kernel, with their model code', async () => {
    const out = path.join(dir, 'cpu');
    expect((await cli('build', '--batch', '2', '--out', out)).code).toBe(0);
    const r = await cli('inspect', path.join(out, 'encoder.onnx'), '--ep', 'cuda');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /compute nodes off the provider: 4\n {2}Gelu x4 on CPUExecutionProvider \[no Gelu kernel at all\]: .*mlp\.(js|ts):\d+/,
    );
  });

  test('an opset outside 18-21 is refused in one line', async () => {
    const r = await cli('build', '--opset', '17', '--out', path.join(dir, 'old'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cae-onnx: opset 17 is not supported: .*choose 18, 19, 20, 21\n$/);
  });
});
