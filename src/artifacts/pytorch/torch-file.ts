import { FileFormatError } from '../file-format-error';
import * as fs from 'node:fs';
import * as yauzl from 'yauzl';
import { DType } from '../../graph-builder/core/dtype';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import {
  PickleFormatError,
  PickleSecurityError,
  PyDict,
  PyGlobal,
  PyObject,
  PyTuple,
  PyValue,
  unpickle,
  unpickleAt,
} from './pickle';

/** A file that is not a readable PyTorch checkpoint (truncated, not a zip, a bad pickle, a missing storage). */
export class TorchFormatError extends FileFormatError {
  override name = 'TorchFormatError';
}

/** A tensor the pickle describes, before its storage is read. */
export class TorchTensorRef {
  readonly kind = 'tensor';
  constructor(
    readonly storage: StorageRef,
    /** In elements. */
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** A storage the pickle refers to by persistent id; its bytes are `<root>/data/<key>` in the zip. */
class TorchStorage {
  readonly kind = 'storage';
  constructor(readonly ref: StorageRef) {}
}

interface StorageRef {
  readonly key: string;
  readonly type: StorageType;
  /** Elements in the storage. */
  readonly numel: number;
}

/** torch's storage classes: element size and how to read one element into float32/int64. */
interface StorageType {
  readonly name: string;
  readonly bytes: number;
  /** What the tensor becomes here: floats as float32, integers as int64, bool as bool. */
  readonly target: DType;
}

const STORAGE_TYPES: Record<string, StorageType> = {
  FloatStorage: { name: 'float32', bytes: 4, target: 'float32' },
  DoubleStorage: { name: 'float64', bytes: 8, target: 'float32' },
  HalfStorage: { name: 'float16', bytes: 2, target: 'float32' },
  BFloat16Storage: { name: 'bfloat16', bytes: 2, target: 'float32' },
  LongStorage: { name: 'int64', bytes: 8, target: 'int64' },
  IntStorage: { name: 'int32', bytes: 4, target: 'int64' },
  ShortStorage: { name: 'int16', bytes: 2, target: 'int64' },
  CharStorage: { name: 'int8', bytes: 1, target: 'int64' },
  ByteStorage: { name: 'uint8', bytes: 1, target: 'int64' },
  BoolStorage: { name: 'bool', bytes: 1, target: 'bool' },
};

/** A checkpoint as read: its structure (tensors as references) and where each tensor's bytes live. */
export interface TorchCheckpoint {
  readonly file: string;
  readonly root: PyValue;
  /** Dotted paths of every tensor in the structure (`model.encoder.cls_token`), in file order. */
  readonly tensors: ReadonlyMap<string, TorchTensorRef>;
  /** Reads one tensor: floats as float32, integers as int64, honoring offset and strides. */
  read(ref: TorchTensorRef): Promise<TensorData>;
  close(): void;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: false }, (err, zip) =>
      err ? reject(err) : resolve(zip!),
    ),
  );
}

function listEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (e: yauzl.Entry) => {
      entries.set(e.fileName, e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', reject);
    zip.readEntry();
  });
}

/** One entry's bytes, into a buffer of exactly its size (stored entries stream straight in). */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(err);
      const out = Buffer.allocUnsafeSlow(entry.uncompressedSize);
      let at = 0;
      stream!.on('data', (chunk: Buffer) => {
        if (at + chunk.length > out.length)
          return reject(new Error(`${entry.fileName} is larger than its header says`));
        chunk.copy(out, at);
        at += chunk.length;
      });
      stream!.on('end', () =>
        at === out.length
          ? resolve(out)
          : reject(new Error(`${entry.fileName} ends after ${at} of ${out.length} bytes`)),
      );
      stream!.on('error', reject);
    });
  });
}

const ints = (v: PyValue, what: string): number[] => {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items || items.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0))
    throw new PickleFormatError(`tensor ${what} is not a tuple of non-negative integers`);
  return items as number[];
};

/** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]). */
function rebuildTensor(args: PyValue[]): PyValue {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof TorchStorage)) throw new PickleFormatError('tensor without a storage');
  if (typeof offset !== 'number') throw new PickleFormatError('tensor storage offset is not a number');
  const s = storage;
  const shape = ints(size, 'size');
  const strides = ints(stride, 'stride');
  if (shape.length !== strides.length) throw new PickleFormatError('tensor size and stride differ in rank');
  const last = shape.some((d) => d === 0)
    ? offset
    : offset + shape.reduce((a, d, i) => a + (d - 1) * strides[i], 0);
  if (last >= s.ref.numel && !shape.some((d) => d === 0))
    throw new PickleFormatError(`tensor reaches element ${last} of a ${s.ref.numel}-element storage`);
  return new TorchTensorRef(s.ref, offset, shape, strides);
}

const REBUILDERS = new Map<string, (args: PyValue[]) => PyValue>([
  ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  ['torch._utils._rebuild_tensor', rebuildTensor],
  ['torch._utils._rebuild_parameter', (args) => args[0]],
  ['torch._utils._rebuild_parameter_with_state', (args) => args[0]],
]);

/** A pickle failure as the error a caller sees: a refused global stays a security error; the rest name the file. */
function fileError(file: string, e: unknown): Error {
  if (e instanceof PickleSecurityError) return new PickleSecurityError(`${file}: ${e.message}`);
  return new TorchFormatError(`${file}: ${(e as Error).message}`);
}

/** The checkpoint handle over a rebuilt structure: its tensors by dotted path, and how to read one. */
function checkpointOf(
  file: string,
  root: PyValue,
  read: (ref: TorchTensorRef) => Promise<TensorData>,
  close: () => void,
): TorchCheckpoint {
  const tensors = new Map<string, TorchTensorRef>();
  collectTensors(root, '', tensors);
  return { file, root, tensors, read, close };
}

/** persistent_load for torch storages: ('storage', torch.FloatStorage, key, location, numel[, view]). */
function storageLoader(storages: Map<string, StorageRef>): (pid: PyValue) => PyValue {
  return (pid) => {
    const [tag, type, key, , numel] = pid instanceof PyTuple ? pid.items : [];
    const typeName = type instanceof PyGlobal ? type.name : '';
    const storageType = STORAGE_TYPES[typeName.replace(/^torch\./, '')];
    if (tag !== 'storage' || typeof key !== 'string' || typeof numel !== 'number' || !storageType)
      throw new PickleFormatError(`unsupported storage ${typeName || JSON.stringify(tag)}`);
    const ref = storages.get(key) ?? { key, type: storageType, numel };
    storages.set(key, ref);
    return new TorchStorage(ref);
  };
}

/** The legacy format (torch.save before 1.6) starts with a pickled magic number, not a zip header. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function looksLegacy(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    fs.readSync(fd, head, 0, 2, 0);
    return head[0] === 0x80 && head[1] <= 5; // a pickle PROTO opcode
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The legacy format: five pickles in a row (magic number, protocol version, system info, the object,
 * the list of storage keys), then each storage as an int64 element count and its bytes. The file is
 * read whole (the format has no index), and tensors are views of it.
 */
function openLegacyCheckpoint(file: string): TorchCheckpoint {
  const bytes = fs.readFileSync(file);
  const storages = new Map<string, StorageRef>();
  const where = new Map<string, { at: number; length: number }>();
  let structure: PyValue;
  try {
    let at = 0;
    const next = (options = {}) => {
      const r = unpickleAt(bytes, at, options);
      at = r.end;
      return r.value;
    };
    const magic = next();
    if (BigInt(typeof magic === 'number' || typeof magic === 'bigint' ? magic : -1) !== LEGACY_MAGIC)
      throw new PickleFormatError('not a PyTorch checkpoint (no zip directory and no legacy magic number)');
    next(); // protocol version
    next(); // system info
    structure = next({ rebuilders: REBUILDERS, persistentLoad: storageLoader(storages) });
    const keys = next();
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string'))
      throw new PickleFormatError('the storage key list is not a list of names');
    for (const key of keys as string[]) {
      const ref = storages.get(key);
      if (!ref || at + 8 > bytes.length) throw new PickleFormatError(`storage ${key} is missing`);
      const numel = Number(bytes.readBigInt64LE(at));
      const length = numel * ref.type.bytes;
      if (numel < ref.numel || at + 8 + length > bytes.length)
        throw new PickleFormatError(`storage ${key} is shorter than the tensors that use it (truncated?)`);
      where.set(key, { at: at + 8, length });
      at += 8 + length;
    }
  } catch (e) {
    throw fileError(file, e);
  }
  const read = async (ref: TorchTensorRef) => {
    const w = where.get(ref.storage.key);
    if (!w) throw new TorchFormatError(`${file}: storage ${ref.storage.key} is missing`);
    return materialize(ref, bytes.subarray(w.at, w.at + w.length));
  };
  return checkpointOf(file, structure, read, () => undefined);
}

/** Walks dicts, lists and tuples; inert objects are searched too (their args and state), under their keys. */
function collectTensors(value: PyValue, prefix: string, out: Map<string, TorchTensorRef>): void {
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (value instanceof TorchTensorRef) out.set(prefix, value);
  else if (value instanceof PyDict) for (const [k, v] of value.entries) collectTensors(v, at(String(k)), out);
  else if (Array.isArray(value)) value.forEach((v, i) => collectTensors(v, at(String(i)), out));
  else if (value instanceof PyTuple) value.items.forEach((v, i) => collectTensors(v, at(String(i)), out));
  else if (value instanceof PyObject) collectTensors(value.state, prefix, out);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Element i of a storage's bytes as a number (floats) or bigint (integers). */
function elementReader(type: StorageType, bytes: Buffer): (i: number) => number | bigint {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  switch (type.name) {
    case 'float32':
      return (i) => v.getFloat32(4 * i, true);
    case 'float64':
      return (i) => v.getFloat64(8 * i, true);
    case 'float16':
      return (i) => halfToFloat(v.getUint16(2 * i, true));
    case 'bfloat16':
      return (i) => ((u32[0] = v.getUint16(2 * i, true) << 16), f32[0]);
    case 'int64':
      return (i) => v.getBigInt64(8 * i, true);
    case 'int32':
      return (i) => BigInt(v.getInt32(4 * i, true));
    case 'int16':
      return (i) => BigInt(v.getInt16(2 * i, true));
    case 'int8':
      return (i) => BigInt(v.getInt8(i));
    case 'uint8':
      return (i) => BigInt(v.getUint8(i));
    default:
      return (i) => v.getUint8(i);
  }
}

/** Copies a (possibly strided, offset) view of a storage into a contiguous tensor of the target dtype. */
function materialize(ref: TorchTensorRef, bytes: Buffer): TensorData {
  const { shape, stride, offset } = ref;
  const target = ref.storage.type.target;
  const n = shape.reduce((a, d) => a * d, 1);
  const contiguous = shape.every(
    (d, i) => d === 1 || stride[i] === shape.slice(i + 1).reduce((a, b) => a * b, 1),
  );
  if (target === 'float32' && ref.storage.type.name === 'float32' && contiguous) {
    // Zero-copy when the storage holds exactly this tensor; else one copy of just its elements.
    const aligned = bytes.byteOffset % 4 === 0;
    const start = bytes.byteOffset + 4 * offset;
    if (aligned && offset === 0 && n === ref.storage.numel)
      return tensorData('float32', shape, new Float32Array(bytes.buffer, start, n));
    return tensorData('float32', shape, new Float32Array(bytes.buffer.slice(start, start + 4 * n)));
  }
  const read = elementReader(ref.storage.type, bytes);
  const floats = new Float32Array(target === 'float32' ? n : 0);
  const longs = new BigInt64Array(target === 'int64' ? n : 0);
  const flags = new Uint8Array(target === 'bool' ? n : 0);
  const index = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let at = offset;
    for (let d = 0; d < shape.length; d++) at += index[d] * stride[d];
    const v = read(at);
    if (target === 'float32') floats[k] = Number(v);
    else if (target === 'int64') longs[k] = BigInt(v);
    else flags[k] = v ? 1 : 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  if (target === 'float32') return tensorData('float32', shape, floats);
  return target === 'int64' ? tensorData('int64', shape, longs) : tensorData('bool', shape, flags);
}

/**
 * Opens a checkpoint written by `torch.save`: the zip format of PyTorch 1.6 and later (ZIP64
 * included), whose `<root>/data.pkl` is read with the safe unpickler while the zip stays open so that
 * each tensor's storage `<root>/data/<key>` is read only when asked for; or the legacy format.
 */
export async function openTorchCheckpoint(file: string): Promise<TorchCheckpoint> {
  if (!fs.existsSync(file)) throw new TorchFormatError(`${file}: no such file`);
  let zip: yauzl.ZipFile;
  let entries: Map<string, yauzl.Entry>;
  try {
    zip = await openZip(file);
    entries = await listEntries(zip);
  } catch (e) {
    if (looksLegacy(file)) return openLegacyCheckpoint(file);
    throw new TorchFormatError(
      `${file} is not a PyTorch zip checkpoint (torch.save since 1.6): ${(e as Error).message}`,
    );
  }
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) {
    zip.close();
    throw new TorchFormatError(`${file} has no <root>/data.pkl: not a torch.save checkpoint`);
  }
  const root = pkl.slice(0, -'data.pkl'.length);
  const storages = new Map<string, StorageRef>();
  let structure: PyValue;
  try {
    const pickled = await readEntry(zip, entries.get(pkl)!);
    structure = unpickle(pickled, { rebuilders: REBUILDERS, persistentLoad: storageLoader(storages) });
  } catch (e) {
    zip.close();
    throw fileError(file, e);
  }
  const read = async (ref: TorchTensorRef) => {
    const entry = entries.get(`${root}data/${ref.storage.key}`);
    if (!entry) throw new TorchFormatError(`${file}: storage ${ref.storage.key} is missing`);
    if (entry.uncompressedSize < ref.storage.numel * ref.storage.type.bytes)
      throw new TorchFormatError(
        `${file}: storage ${ref.storage.key} is shorter than the tensors that use it`,
      );
    let bytes: Buffer;
    try {
      bytes = await readEntry(zip, entry);
    } catch (e) {
      throw new TorchFormatError(`${file}: storage ${ref.storage.key}: ${(e as Error).message}`);
    }
    return materialize(ref, bytes);
  };
  return checkpointOf(file, structure, read, () => zip.close());
}
