import { FileFormatError } from './file-format-error';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import type { TensorData } from '../graph-builder/core/tensor-data';
import { fromTensorProto } from '../graph-builder/onnx/tensor-proto';
import { writeAll, writeFileAtomic } from './atomic-write';

/** Models whose initializers exceed this are written with external data (protobuf caps a file at 2 GiB). */
const EXTERNAL_DATA_AUTO_BYTES = 1 << 30;
/** With external data, tensors at least this large go to the data file; smaller ones stay inline. */
const EXTERNAL_MIN_TENSOR_BYTES = 1024;
/** Offsets in the data file are aligned so that runtimes can memory-map tensors. */
const ALIGNMENT = 4096;

export interface WriteModelOptions {
  /** 'auto': external data only when the weights are large (> 1 GiB). */
  readonly externalData?: 'auto' | 'always' | 'never';
}

function rawSize(model: onnx.IModelProto): number {
  return (model.graph?.initializer ?? []).reduce((s, t) => s + (t.rawData?.byteLength ?? 0), 0);
}

/**
 * Writes `model` to `file` (atomically). With external data, large initializers go to
 * `<file>.data` next to it, referenced by relative location, offset and length as ONNX specifies.
 * The model object itself is not modified.
 */
export function writeModelFile(file: string, model: onnx.ModelProto, options: WriteModelOptions = {}): void {
  const mode = options.externalData ?? 'auto';
  const external = mode === 'always' || (mode === 'auto' && rawSize(model) > EXTERNAL_DATA_AUTO_BYTES);
  const dataFile = `${file}.data`;
  if (!external) {
    writeFileAtomic(file, (fd) => writeAll(fd, onnx.ModelProto.encode(model).finish()));
    fs.rmSync(dataFile, { force: true });
    return;
  }
  const location = path.basename(dataFile);
  const initializers: onnx.ITensorProto[] = [];
  writeFileAtomic(dataFile, (fd) => {
    let offset = 0;
    for (const t of model.graph?.initializer ?? []) {
      const bytes = t.rawData;
      if (!bytes || bytes.byteLength < EXTERNAL_MIN_TENSOR_BYTES) {
        initializers.push(t);
        continue;
      }
      const padding = (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT;
      if (padding > 0) writeAll(fd, new Uint8Array(padding));
      offset += padding;
      writeAll(fd, bytes);
      initializers.push({
        ...t,
        rawData: new Uint8Array(0),
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      });
      offset += bytes.byteLength;
    }
  });
  const slim = onnx.ModelProto.create({ ...model, graph: { ...model.graph, initializer: initializers } });
  writeFileAtomic(file, (fd) => writeAll(fd, onnx.ModelProto.encode(slim).finish()));
}

export function readModelFile(file: string): onnx.ModelProto {
  return decodeModel(fs.readFileSync(file), file);
}

/** Decodes ONNX model bytes; bytes that are not a model are a FileFormatError naming the file. */
export function decodeModel(bytes: Uint8Array, file: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new FileFormatError(`${file} is not an ONNX model (${(e as Error).message})`);
  }
  if (!model.graph) throw new FileFormatError(`${file} is not an ONNX model (no graph)`);
  return model;
}

/** Reads the bytes of an external-data tensor relative to the model's folder. */
function readExternal(t: onnx.ITensorProto, modelDir: string): Uint8Array {
  const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value ?? undefined;
  const location = entry('location');
  if (!location) throw new FileFormatError(`tensor '${t.name}' is external but names no location`);
  const resolved = path.resolve(modelDir, location);
  if (path.relative(modelDir, resolved).startsWith('..')) {
    throw new FileFormatError(`tensor '${t.name}' points outside the model folder: ${location}`);
  }
  const offset = Number(entry('offset') ?? 0);
  const length = Number(entry('length') ?? fs.statSync(resolved).size - offset);
  const out = new Uint8Array(length);
  const fd = fs.openSync(resolved, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, offset + done);
      if (n === 0)
        throw new FileFormatError(
          `${location} ends before tensor '${t.name}' (offset ${offset}, length ${length})`,
        );
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Every initializer of a model file by name, external data included. */
export function readInitializers(file: string, model = readModelFile(file)): Map<string, TensorData> {
  const dir = path.dirname(path.resolve(file));
  const out = new Map<string, TensorData>();
  for (const t of model.graph?.initializer ?? []) {
    const external =
      t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL ? readExternal(t, dir) : undefined;
    out.set(t.name ?? '', fromTensorProto(t, external));
  }
  return out;
}
