import type { onnx } from 'onnx-proto';
import { readModelFile } from '../../artifacts/onnx-file';
import { EpName, ExecutionProviderError, webgpuDriverProblem } from '../execution-providers';
import { kernelTableFor, missingKernels } from './kernel-tables';
import { createdNodeKind, NodeKind, nodeKind, tensorFacts } from './node-kinds';
import { ortPlacement, ortProviderName } from './ort-placement';

/** A node that does not run on the chosen provider. */
export interface OffDeviceNode {
  readonly name: string;
  readonly opType: string;
  /** Where it runs instead (ORT's provider name). */
  readonly provider: string;
  readonly kind: NodeKind;
  /** The model code that built it (file:line), when the node is ours. */
  readonly site?: string;
  /** Why (kernel-table audits): the missing kernel. */
  readonly reason?: string;
}

export interface PlacementAudit {
  readonly file: string;
  readonly ep: EpName;
  readonly provider: string;
  /** 'onnxruntime': ORT's own placement of the optimized graph; 'kernel table': static, from its registrations. */
  readonly method: 'onnxruntime' | 'kernel table';
  readonly totalNodes: number;
  readonly off: readonly OffDeviceNode[];
  /** Host<->device copies ORT inserted (MemcpyFromHost / MemcpyToHost). */
  readonly copies: number;
  /** Where the kernel table came from (kernel-table audits). */
  readonly tableSource?: string;
}

export const computeOff = (a: PlacementAudit): OffDeviceNode[] => a.off.filter((n) => n.kind === 'compute');

function modelNodes(model: onnx.IModelProto): Map<string, onnx.INodeProto> {
  return new Map((model.graph?.node ?? []).map((n) => [n.name ?? '', n]));
}

/**
 * Where onnxruntime runs each node of a model on `ep` (live: ORT creates the session and reports
 * its placement), with every node that leaves the provider classified and traced to its model code.
 */
export async function auditWithOrt(
  file: string,
  ep: EpName,
  env?: NodeJS.ProcessEnv,
): Promise<PlacementAudit> {
  const model = readModelFile(file);
  const placed = await ortPlacement(file, ep, env);
  const ours = modelNodes(model);
  const optimizedNodes = placed.optimized ? modelNodes(placed.optimized) : new Map<string, onnx.INodeProto>();
  const facts = new Map([...tensorFacts(model), ...(placed.optimized ? tensorFacts(placed.optimized) : [])]);
  const provider = ortProviderName(ep);
  if (placed.all) {
    const off = placed.all.provider === provider ? [] : [...ours.values()];
    return {
      file,
      ep,
      provider,
      method: 'onnxruntime',
      totalNodes: placed.all.count,
      off: off.map((n) => ({
        name: n.name ?? '',
        opType: n.opType ?? '',
        provider: placed.all!.provider,
        kind: nodeKind(n, facts),
        site: n.docString ?? undefined,
      })),
      copies: 0,
    };
  }
  const off: OffDeviceNode[] = [];
  let copies = 0;
  for (const p of placed.nodes) {
    if (p.opType.startsWith('Memcpy')) {
      copies++;
      continue;
    }
    if (p.provider === provider) continue;
    const node = optimizedNodes.get(p.name) ?? ours.get(p.name);
    off.push({
      name: p.name,
      opType: p.opType,
      provider: p.provider,
      kind: node ? nodeKind(node, facts) : createdNodeKind(p.opType),
      site: ours.get(p.name)?.docString ?? undefined,
    });
  }
  return { file, ep, provider, method: 'onnxruntime', totalNodes: placed.nodes.length, off, copies };
}

/**
 * For providers that cannot run here (CUDA, DirectML): every node checked against the provider's
 * kernel registrations in ONNX Runtime's source, for its op's schema version and element type.
 */
export function auditWithKernelTable(file: string, ep: 'cuda' | 'dml'): PlacementAudit {
  const model = readModelFile(file);
  const facts = tensorFacts(model);
  const table = kernelTableFor(ep);
  const missing = missingKernels(model, table);
  return {
    file,
    ep,
    provider: ortProviderName(ep),
    method: 'kernel table',
    totalNodes: model.graph?.node?.length ?? 0,
    off: missing.map(({ node, reason }) => ({
      name: node.name ?? '',
      opType: node.opType ?? '',
      provider: 'CPUExecutionProvider',
      kind: nodeKind(node, facts),
      site: node.docString ?? undefined,
      reason,
    })),
    copies: 0,
    tableSource: table.source,
  };
}

/** A call site without the checkout's path: `takeRows (graph-builder/cae/encoder.js:72:40)`. */
const shortSite = (site: string) => site.replace(/\/[^\s()]*\/(?:dist|src)\//, '');

/** The audit as a person reads it: counts, then the nodes off the provider by op and model code. */
export function formatAudit(a: PlacementAudit): string {
  const how =
    a.method === 'onnxruntime'
      ? 'as onnxruntime places the optimized graph'
      : `from ${a.provider} kernel registrations (${a.tableSource})`;
  const lines = [
    `placement on ${a.ep} (${how}): ${a.totalNodes - a.off.length} of ${a.totalNodes} nodes on ${a.provider}` +
      (a.method === 'onnxruntime' ? `, ${a.copies} host<->device copies` : ''),
  ];
  for (const kind of ['compute', 'shape'] as const) {
    const nodes = a.off.filter((n) => n.kind === kind);
    const label =
      kind === 'compute'
        ? 'compute nodes off the provider'
        : 'shape/index nodes off the provider (int64/bool or scalars; fine)';
    lines.push(`${label}: ${nodes.length === 0 ? 'none' : nodes.length}`);
    const byOp = new Map<string, OffDeviceNode[]>();
    for (const n of nodes) byOp.set(n.opType, [...(byOp.get(n.opType) ?? []), n]);
    for (const [opType, group] of byOp) {
      const sites = new Map<string, number>();
      for (const n of group) {
        const key = n.site ? shortSite(n.site) : `(made by onnxruntime: ${n.name})`;
        sites.set(key, (sites.get(key) ?? 0) + 1);
      }
      const where = [...sites].map(([s, k]) => (k > 1 ? `${s} x${k}` : s)).join(', ');
      const why = group[0].reason ? ` [${group[0].reason}]` : '';
      lines.push(`  ${opType} x${group.length} on ${group[0].provider}${why}: ${where}`);
    }
  }
  return lines.join('\n');
}

/**
 * The audit for a provider: live from onnxruntime where the provider can start here (cpu, webgpu),
 * from the kernel registrations for providers that cannot (cuda, dml).
 */
export async function auditModel(file: string, ep: EpName): Promise<PlacementAudit> {
  if (ep === 'cuda' || ep === 'dml') return auditWithKernelTable(file, ep);
  const problem = ep === 'webgpu' ? webgpuDriverProblem() : undefined;
  if (problem) throw new ExecutionProviderError(problem);
  return auditWithOrt(file, ep);
}

/**
 * For CUDA and DirectML (which cannot be audited live here): a warning when compute nodes of a graph
 * have no kernel in the provider's table, so ORT would run them on the CPU with copies each way.
 */
export function kernelTableWarning(file: string, ep: EpName): string | undefined {
  if (ep !== 'cuda' && ep !== 'dml') return undefined;
  const audit = auditWithKernelTable(file, ep);
  const off = computeOff(audit);
  if (off.length === 0) return undefined;
  const ops = [...new Set(off.map((n) => n.opType))].join(', ');
  return (
    `warning: ${off.length} compute nodes of ${file} (${ops}) have no ${ep} kernel in ONNX Runtime's registrations ` +
    `(${off[0].reason}); they would run on the CPU. Rebuild with cae-onnx build --ep ${ep} (its default opset), or see cae-onnx info --ep ${ep}.`
  );
}
