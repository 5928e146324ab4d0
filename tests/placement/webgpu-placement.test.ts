import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeModelFile } from '../../src/artifacts/onnx-file';
import { Graph } from '../../src/graph-builder/core/graph';
import { apply1 } from '../../src/graph-builder/core/apply';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { auditWithOrt, computeOff, formatAudit } from '../../src/runtime/placement/audit';
import { parsePlacementLog } from '../../src/runtime/placement/ort-placement';
import { asModel, emittedGraphs } from '../helpers/emitted-graphs';
import { smallBuild } from '../helpers/small-cae';
import { softwareGpuEnv } from '../helpers/software-gpu';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cae-placement-'));

test("parses both forms of ORT's node-placement log", () => {
  const prefix =
    '2026-12-02 17:02:01.07 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]';
  const log = [
    `${prefix.replace('1385', '1377')} Node placements`,
    `${prefix}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1`,
    `${prefix}   Cast (Cast_526)`,
    `${prefix}  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 2`,
    `${prefix}   MatMul (encoder/MatMul_10)`,
    `${prefix}   Gather (encoder/Gather_11)`,
    '2026-12-02 17:02:01.08 [I:onnxruntime:, allocation_planner.cc:2653 CreateGraphPartitioner] Use DeviceBasedPartition',
  ].join('\n');
  expect(parsePlacementLog(log).nodes).toEqual([
    { opType: 'Cast', name: 'Cast_526', provider: 'CPUExecutionProvider' },
    { opType: 'MatMul', name: 'encoder/MatMul_10', provider: 'WebGpuExecutionProvider' },
    { opType: 'Gather', name: 'encoder/Gather_11', provider: 'WebGpuExecutionProvider' },
  ]);
  const all = `${prefix}  All nodes placed on [CPUExecutionProvider]. Number of nodes: 12`;
  expect(parsePlacementLog(all)).toEqual({ nodes: [], all: { provider: 'CPUExecutionProvider', count: 12 } });
});

describe('on the WebGPU provider (SwiftShader)', () => {
  const env = softwareGpuEnv();

  test('no compute node of the cae-tiny-28 train_step leaves the GPU', async () => {
    const build = smallBuild({ embedDim: 64, depth: 4, numHeads: 4, decoderEmbedDim: 64, batch: 4 });
    const audit = await auditWithOrt(path.join(build, 'train_step.onnx'), 'webgpu', env);
    expect(audit.totalNodes).toBeGreaterThan(1000);
    expect(computeOff(audit)).toEqual([]);
    // What does stay on the CPU is index and step-counter work, listed with its model code.
    for (const n of audit.off) expect(n.kind).toBe('shape');
    expect(formatAudit(audit)).toMatch(/compute nodes off the provider: none/);
  });

  test('a compute node without a WebGPU kernel is reported with the model code that built it', async () => {
    const g = new Graph('sum');
    const a = g.input('a', 'float32', [4, 8]);
    const b = g.input('b', 'float32', [4, 8]);
    const c = g.input('c', 'float32', [4, 8]);
    g.output('y', op.relu(apply1(op.Sum, [a, b, c], {}))); // the ONNX Sum op, which WebGPU lacks
    const file = path.join(tmp(), 'sum.onnx');
    writeModelFile(file, toModelProto(g, { paramsAs: 'inputs' }));
    const audit = await auditWithOrt(file, 'webgpu', env);
    const off = computeOff(audit);
    expect(off.map((n) => n.opType)).toEqual(['Sum']);
    expect(off[0].site).toMatch(/webgpu-placement\.test\.ts/);
    expect(formatAudit(audit)).toMatch(
      /compute nodes off the provider: 1\n {2}Sum x1 on CPUExecutionProvider: .*webgpu-placement\.test\.ts/,
    );
  });

  test.each(emittedGraphs().map((e) => [e.name, e.graph] as const))(
    'every graph we emit keeps its compute on the GPU: %s',
    async (_name, graph) => {
      const file = path.join(tmp(), 'model.onnx');
      writeModelFile(file, asModel(graph));
      const audit = await auditWithOrt(file, 'webgpu', env);
      expect(computeOff(audit).map((n) => `${n.opType} ${n.name} ${n.site}`)).toEqual([]);
    },
  );
});
