import * as fs from 'node:fs';
import { Command } from 'commander';
import { onnx } from 'onnx-proto';
import { readModelFile } from '../../artifacts/onnx-file';
import { dtypeFromOnnxCode } from '../../graph-builder/core/dtype';
import type { EpName } from '../../runtime/execution-providers';
import { auditModel, formatAudit } from '../../runtime/placement/audit';
import { ModelSession } from '../../runtime/session';
import { oneOf } from '../options';
import { UserError } from '../run-command';

function describeValue(v: onnx.IValueInfoProto): string {
  const t = v.type?.tensorType;
  const dims = (t?.shape?.dim ?? []).map((d) => d.dimParam || String(d.dimValue ?? '?'));
  return `${v.name}: ${t?.elemType ? dtypeFromOnnxCode(t.elemType) : '?'}[${dims.join(', ')}]`;
}

/** A summary of an ONNX file, after checking that onnxruntime-node accepts it. */
export async function inspectModel(file: string): Promise<string> {
  if (!fs.existsSync(file)) throw new UserError(`no such model file: ${file}`);
  let model: onnx.ModelProto;
  try {
    model = readModelFile(file);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  try {
    await (await ModelSession.create(file)).release();
  } catch (e) {
    throw new UserError(`onnxruntime-node refuses ${file}: ${(e as Error).message}`);
  }
  const graph = model.graph ?? {};
  const counts = new Map<string, number>();
  for (const n of graph.node ?? []) counts.set(n.opType ?? '?', (counts.get(n.opType ?? '?') ?? 0) + 1);
  const inline = (graph.initializer ?? []).reduce((s, t) => s + (t.rawData?.byteLength ?? 0), 0);
  const opsets = (model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
  return [
    `${file}: IR ${model.irVersion}, opset ${opsets}, producer ${model.producerName || '?'}`,
    `inputs:\n${(graph.input ?? []).map((v) => `  ${describeValue(v)}`).join('\n')}`,
    `outputs:\n${(graph.output ?? []).map((v) => `  ${describeValue(v)}`).join('\n')}`,
    `nodes: ${graph.node?.length ?? 0} (${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `initializers: ${graph.initializer?.length ?? 0}, ${(inline / 2 ** 20).toFixed(2)} MiB inline`,
    'onnxruntime-node: loads',
  ].join('\n');
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('summarize an ONNX model and check that onnxruntime-node loads it')
    .argument('<model>', 'path to a .onnx file')
    .option(
      '--ep <name>',
      'also list every node that would not run on this execution provider (webgpu, cpu: as onnxruntime places them; cuda, dml: from their kernel registrations)',
      oneOf('cpu', 'cuda', 'dml', 'webgpu'),
    )
    .action(async (file: string, flags: { ep?: EpName }) => {
      process.stdout.write(`${await inspectModel(file)}\n`);
      if (flags.ep) process.stdout.write(`${formatAudit(await auditModel(file, flags.ep))}\n`);
    });
}
