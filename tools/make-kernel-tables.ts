/**
 * Makes src/runtime/placement/kernels/{cuda,dml}.json from ONNX Runtime's source: the ai.onnx kernel
 * registrations of the CUDA EP (cuda_execution_provider.cc) and of DirectML
 * (DmlExecutionProvider/src/Operators/OperatorRegistration.cpp).
 *
 *   npm run bench:build && node dist-bench/tools/make-kernel-tables.js \
 *     --cuda <ort>/onnxruntime/core/providers/cuda/cuda_execution_provider.cc --cuda-source "<repo path @ commit>" \
 *     --dml <ort>/onnxruntime/core/providers/dml/DmlExecutionProvider/src/Operators/OperatorRegistration.cpp \
 *     --dml-source "<repo path @ commit>"
 *
 * Only the registration lists are read (no code is compiled or run). CUDA: every
 * BuildKernelCreateInfo<...KERNEL_CLASS_NAME(kCudaExecutionProvider, kOnnxDomain, since[, end][, type], Op)>
 * entry that is not commented out. DML: every REG_INFO / REG_INFO_VER / REG_INFO_ID row of the ai.onnx
 * domain; a row names an opset whose schema version is the kernel's first, and it serves that op's
 * schemas up to the next row of the same op (the last one open-ended), with the element types of its
 * first type constraint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KernelRange, KernelTable } from '../src/runtime/placement/kernel-tables';
import { schemaVersion } from '../src/runtime/placement/onnx-schema-versions';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Drops // comments so that commented-out registrations do not count. */
const uncommented = (text: string) => text.replace(/\/\/[^\n]*/g, '');

function cudaTable(text: string, source: string): KernelTable {
  const kernels: Record<string, KernelRange[]> = {};
  const entry =
    /BuildKernelCreateInfo<\s*ONNX_OPERATOR_(VERSIONED_)?(TYPED_|TWO_TYPED_)?KERNEL_CLASS_NAME\(\s*kCudaExecutionProvider\s*,\s*kOnnxDomain\s*,([^)]*)\)\s*>/g;
  for (const m of uncommented(text).matchAll(entry)) {
    const versioned = m[1] !== undefined;
    const parts = m[3].split(',').map((s) => s.trim());
    const op = parts[parts.length - 1];
    const since = Number(parts[0]);
    const end = versioned ? Number(parts[1]) : null;
    const typeAt = versioned ? 2 : 1;
    const type = m[2] ? parts[typeAt] : undefined;
    const ranges = (kernels[op] ??= []);
    const same = ranges.find(([s, e, t]) => s === since && e === end && t !== null);
    if (type === undefined) ranges.push([since, end, null]);
    else if (same) (same[2] as string[]).push(type);
    else ranges.push([since, end, [type]]);
  }
  // The CUDA EP's typed registrations name Where's value type and Slice's index type.
  return { source, kernels: sortTable(kernels), typedInput: { Where: 1, Slice: 1 } };
}

/** DML's SupportedTensorDataTypes flags as ORT's C++ type names (OperatorRegistration.h). */
const DML_FLAGS: Record<string, string[]> = {
  Float32: ['float'],
  Float16: ['MLFloat16'],
  Float64: ['double'],
  UInt8: ['uint8_t'],
  Int8: ['int8_t'],
  UInt16: ['uint16_t'],
  Int16: ['int16_t'],
  UInt32: ['uint32_t'],
  Int32: ['int32_t'],
  UInt64: ['uint64_t'],
  Int64: ['int64_t'],
  Bool: ['bool'],
  Float16to32: ['float', 'MLFloat16'],
  Ints8Bit: ['int8_t', 'uint8_t'],
  Ints16Bit: ['int16_t', 'uint16_t'],
  Ints32Bit: ['int32_t', 'uint32_t'],
  Ints64Bit: ['int64_t', 'uint64_t'],
  Ints8to32: ['int8_t', 'uint8_t', 'int16_t', 'uint16_t', 'int32_t', 'uint32_t'],
  Ints32to64: ['int32_t', 'uint32_t', 'int64_t', 'uint64_t'],
  UInt8to64: ['uint8_t', 'uint16_t', 'uint32_t', 'uint64_t'],
  Float16to64: ['float', 'MLFloat16', 'double'],
  Ints8to64: ['int8_t', 'uint8_t', 'int16_t', 'uint16_t', 'int32_t', 'uint32_t', 'int64_t', 'uint64_t'],
  NumericDefault: ['float', 'MLFloat16', 'int8_t', 'uint8_t', 'int16_t', 'uint16_t', 'int32_t', 'uint32_t'],
  Scalars8to32: [
    'float',
    'MLFloat16',
    'int8_t',
    'uint8_t',
    'int16_t',
    'uint16_t',
    'int32_t',
    'uint32_t',
    'bool',
  ],
};
const ANY_FLAGS = new Set(['All', 'AllScalars']);

function dmlTypeLists(text: string): Map<string, string[] | null> {
  const lists = new Map<string, string[] | null>();
  const def = /std::array<SupportedTensorDataTypes,\s*\d+>\s+(\w+)\s*=\s*(?:\/\*[^*]*\*\/\s*)?\{([^}]*)\}/g;
  for (const m of text.matchAll(def)) {
    const first = m[2].split(',')[0];
    const flags = [...first.matchAll(/SupportedTensorDataTypes::(\w+)/g)].map((f) => f[1]);
    if (flags.some((f) => ANY_FLAGS.has(f))) lists.set(m[1], null);
    else lists.set(m[1], [...new Set(flags.flatMap((f) => DML_FLAGS[f] ?? []))]);
  }
  return lists;
}

function dmlTable(text: string, source: string): KernelTable {
  const lists = dmlTypeLists(text);
  const rows = new Map<string, { since: number; types: string[] | null }[]>();
  const row =
    /\{\s*REG_INFO(?:_VER|_ID|_COPY|_DYNAMIC_OUTPUTS)?\(\s*(\d+)\s*,\s*(\w+)\s*,\s*\w+\s*,\s*(\w+)/g;
  for (const m of uncommented(text).matchAll(row)) {
    const set = Number(m[1]);
    const op = m[2];
    const since = schemaVersion(op, set) ?? set;
    const list = rows.get(op) ?? [];
    if (!list.some((r) => r.since === since)) list.push({ since, types: lists.get(m[3]) ?? null });
    rows.set(op, list);
  }
  const kernels: Record<string, KernelRange[]> = {};
  for (const [op, list] of rows) {
    list.sort((a, b) => a.since - b.since);
    kernels[op] = list.map((r, i) => [r.since, i + 1 < list.length ? list[i + 1].since - 1 : null, r.types]);
  }
  // DML's first type constraint is the first input's for every op we emit.
  return { source, kernels: sortTable(kernels), typedInput: {} };
}

function sortTable(kernels: Record<string, KernelRange[]>): Record<string, KernelRange[]> {
  return Object.fromEntries(
    Object.keys(kernels)
      .sort()
      .map((op) => [op, [...kernels[op]].sort((a, b) => a[0] - b[0])]),
  );
}

function write(table: KernelTable, file: string): void {
  fs.writeFileSync(file, `${JSON.stringify(table)}\n`);
  console.log(`${file}: ${Object.keys(table.kernels).length} ops (${table.source})`);
}

const out = path.join(__dirname, '../../src/runtime/placement/kernels');
const cuda = arg('cuda');
const dml = arg('dml');
if (!cuda && !dml) {
  console.error('usage: make-kernel-tables --cuda FILE --cuda-source TEXT --dml FILE --dml-source TEXT');
  process.exit(2);
}
if (cuda)
  write(cudaTable(fs.readFileSync(cuda, 'utf8'), arg('cuda-source') ?? cuda), path.join(out, 'cuda.json'));
if (dml) write(dmlTable(fs.readFileSync(dml, 'utf8'), arg('dml-source') ?? dml), path.join(out, 'dml.json'));
