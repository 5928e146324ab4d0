import type { onnx } from 'onnx-proto';
import cudaTable from './kernels/cuda.json';
import dmlTable from './kernels/dml.json';
import { schemaVersion } from './onnx-schema-versions';

/**
 * One provider's ai.onnx kernel registrations, as `tools/make-kernel-tables.ts` extracts them from
 * ONNX Runtime's source: per op, the registered version ranges and, where the registration is typed,
 * the element types ('float', 'MLFloat16', 'int64_t', ...; null: any type).
 */
export interface KernelTable {
  /** Which ONNX Runtime source file (repository path and commit) the table was read from. */
  readonly source: string;
  readonly kernels: Readonly<Record<string, readonly KernelRange[]>>;
  /** Ops whose typed kernels are selected by another input than the first (CUDA: Where's T, Slice's Tind). */
  readonly typedInput: Readonly<Record<string, number>>;
}

/** [since, end (inclusive; null: open), types (null: any)]. */
export type KernelRange = readonly [number, number | null, readonly string[] | null];

/** Checks a table's JSON (a data file in the repo, but still read as untrusted input). */
export function parseKernelTable(json: unknown, what: string): KernelTable {
  const fail = (why: string): never => {
    throw new Error(`kernel table ${what}: ${why}`);
  };
  if (typeof json !== 'object' || json === null) return fail('not an object');
  const { source, kernels, typedInput } = json as Record<string, unknown>;
  if (typeof source !== 'string') fail('no source');
  if (typeof kernels !== 'object' || kernels === null) return fail('no kernels');
  const table: Record<string, KernelRange[]> = {};
  for (const [op, ranges] of Object.entries(kernels)) {
    if (!Array.isArray(ranges)) fail(`${op}: not a list`);
    table[op] = (ranges as unknown[]).map((r) => {
      const [since, end, types] = Array.isArray(r) ? r : [];
      const typeList = types === null || (Array.isArray(types) && types.every((t) => typeof t === 'string'));
      if (typeof since !== 'number' || !(end === null || typeof end === 'number') || !typeList)
        fail(`${op}: bad range ${JSON.stringify(r)}`);
      return [since as number, end as number | null, types as string[] | null] as const;
    });
  }
  const typed = (typedInput ?? {}) as Record<string, number>;
  return { source: source as string, kernels: table, typedInput: typed };
}

const TABLES: Record<'cuda' | 'dml', KernelTable> = {
  cuda: parseKernelTable(cudaTable, 'cuda.json'),
  dml: parseKernelTable(dmlTable, 'dml.json'),
};

export const kernelTableFor = (ep: 'cuda' | 'dml'): KernelTable => TABLES[ep];

/** ONNX element type code -> the C++ type name ORT's kernel registrations use. */
const CPP_TYPE: Record<number, string> = {
  1: 'float',
  2: 'uint8_t',
  3: 'int8_t',
  5: 'int16_t',
  6: 'int32_t',
  7: 'int64_t',
  9: 'bool',
  10: 'MLFloat16',
  11: 'double',
  16: 'BFloat16',
};

function elementTypes(model: onnx.IModelProto): Map<string, number> {
  const types = new Map<string, number>();
  const graph = model.graph ?? {};
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])])
    if (v.name && v.type?.tensorType?.elemType) types.set(v.name, v.type.tensorType.elemType);
  for (const t of graph.initializer ?? []) if (t.name && t.dataType) types.set(t.name, t.dataType);
  return types;
}

/** Why no kernel of the table serves a node, or undefined when one does. */
export function kernelGap(
  table: KernelTable,
  opType: string,
  opset: number,
  elementType: string | undefined,
): string | undefined {
  const version = schemaVersion(opType, opset);
  if (version === undefined) return `${opType} has no schema at opset ${opset} in cae-onnx's version table`;
  const ranges = table.kernels[opType];
  if (!ranges) return `no ${opType} kernel at all`;
  const covering = ranges.filter(([since, end]) => since <= version && (end === null || version <= end));
  if (covering.length === 0) {
    const registered = ranges.map(([s, e]) => (e === null ? `${s}+` : `${s}-${e}`)).join(', ');
    return `${opType}-${version} (opset ${opset}) not registered; registered: ${registered}`;
  }
  if (covering.some(([, , types]) => types === null)) return undefined;
  if (elementType && covering.some(([, , types]) => types!.includes(elementType))) return undefined;
  const types = [...new Set(covering.flatMap(([, , t]) => t ?? []))].join(', ');
  return `${opType}-${version} has no ${elementType ?? 'such'} kernel (types: ${types})`;
}

/** The nodes of a model with no kernel in the table, each with the reason. */
export function missingKernels(
  model: onnx.IModelProto,
  table: KernelTable,
): { node: onnx.INodeProto; reason: string }[] {
  const opset = Number(
    (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0,
  );
  const types = elementTypes(model);
  const out: { node: onnx.INodeProto; reason: string }[] = [];
  for (const node of model.graph?.node ?? []) {
    const op = node.opType ?? '';
    const typed = node.input?.[table.typedInput[op] ?? 0];
    const code = typed ? types.get(typed) : undefined;
    const reason = kernelGap(table, op, opset, code === undefined ? undefined : CPP_TYPE[code]);
    if (reason) out.push({ node, reason });
  }
  return out;
}
