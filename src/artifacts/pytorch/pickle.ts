import { FileFormatError } from '../file-format-error';
/**
 * A pickle reader that executes nothing. Python's unpickler calls whatever global a file names;
 * this one rebuilds only an allowlist (containers, the few builtins that make plain values, and what
 * the caller supplies, e.g. PyTorch's tensor rebuilders) and turns every other class or function
 * into an inert `PyObject` record of its name and arguments. Globals that can run code (os.system,
 * builtins.eval, subprocess, ...) are refused outright, naming the global.
 */

/** A Python value as this reader rebuilds it. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PyObject
  | PyGlobal
  | { readonly kind: string };

/** A tuple (kept apart from lists so that layouts can tell them apart). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A dict or OrderedDict: keys in insertion order. */
export class PyDict {
  readonly entries = new Map<PyValue, PyValue>();
}

/** A class or function the file names but this reader does not rebuild: its name and arguments. */
export class PyObject {
  state: PyValue = null;
  readonly items: PyValue[] = [];
  constructor(
    readonly global: string,
    readonly args: PyValue[],
  ) {}
}

/** A global (class or function) named by the file, not yet called. */
export class PyGlobal {
  constructor(readonly name: string) {}
}

/** The file is not a pickle this reader understands (truncated, unknown opcode, bad structure). */
export class PickleFormatError extends FileFormatError {
  override name = 'PickleFormatError';
}

/** The file names a global that could run code when unpickled; it is refused, nothing is run. */
export class PickleSecurityError extends FileFormatError {
  override name = 'PickleSecurityError';
}

/** What the caller rebuilds: a global's full name -> a function of its (already rebuilt) arguments. */
export type Rebuilders = ReadonlyMap<string, (args: PyValue[]) => PyValue>;

export interface UnpickleOptions {
  readonly rebuilders?: Rebuilders;
  /** BINPERSID / PERSID: the persistent id (a tuple for torch storages) -> the value it stands for. */
  readonly persistentLoad?: (pid: PyValue) => PyValue;
}

/** Modules whose globals can run code, read files or import more: never rebuilt, never recorded. */
const DANGEROUS_MODULES = new Set([
  'os',
  'posix',
  'nt',
  'sys',
  'subprocess',
  'shutil',
  'socket',
  'importlib',
  'runpy',
  'pty',
  'code',
  'codeop',
  'ctypes',
  'multiprocessing',
  'pickle',
  '_pickle',
  'marshal',
  'types',
  'webbrowser',
  'platform',
  'io',
  'tempfile',
  'pathlib',
  'operator',
  'functools',
  'timeit',
  'pdb',
]);

/** The builtins that only make plain values; every other builtin (eval, exec, getattr, open, ...) is refused. */
const SAFE_BUILTINS: Record<string, (args: PyValue[]) => PyValue> = {
  set: (args) => [...((args[0] as PyValue[] | undefined) ?? [])],
  frozenset: (args) => [...((args[0] as PyValue[] | undefined) ?? [])],
  list: (args) => [...((args[0] as PyValue[] | undefined) ?? [])],
  tuple: (args) => new PyTuple([...((args[0] as PyValue[] | undefined) ?? [])]),
  dict: () => new PyDict(),
  bytearray: (args) => (args[0] instanceof Uint8Array ? args[0] : new Uint8Array()),
  slice: (args) => new PyObject('builtins.slice', args),
  complex: (args) => new PyObject('builtins.complex', args),
};

const BUILTIN_MODULES = new Set(['builtins', '__builtin__']);

const CONTAINERS: Record<string, (args: PyValue[]) => PyValue> = {
  'collections.OrderedDict': () => new PyDict(),
  // Protocol 2 pickles bytes as _codecs.encode(text, 'latin1').
  '_codecs.encode': (args) => Uint8Array.from(String(args[0] ?? ''), (ch) => ch.charCodeAt(0) & 0xff),
};

function checkGlobal(module: string, name: string): void {
  const top = module.split('.')[0];
  const full = `${module}.${name}`;
  if (DANGEROUS_MODULES.has(top) || name.startsWith('__') || name.includes('.')) {
    throw new PickleSecurityError(`refused to load global ${full}: it could run code when unpickled`);
  }
  if (BUILTIN_MODULES.has(module) && !(name in SAFE_BUILTINS)) {
    throw new PickleSecurityError(`refused to load global ${full}: it could run code when unpickled`);
  }
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** Reads a pickle (protocols 0-5, the opcodes torch.save and plain containers use). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): PyValue {
  return unpickleAt(bytes, 0, options).value;
}

/** Reads one pickle starting at byte `start`; `end` is the byte after its STOP (pickles can follow each other). */
export function unpickleAt(
  bytes: Uint8Array,
  start: number,
  options: UnpickleOptions = {},
): { value: PyValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8');
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  let pos = start;

  const need = (n: number) => {
    if (pos + n > bytes.length)
      throw new PickleFormatError(`pickle ends early (byte ${pos} of ${bytes.length})`);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) throw new PickleFormatError(`length ${v} past the end of the pickle`);
    return Number(v);
  };
  const take = (n: number) => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleFormatError('pickle ends inside a text line');
    const text = decoder.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleFormatError('pickle stack underflow');
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleFormatError('pickle stack underflow');
    return v;
  };
  const popMark = (): PyValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleFormatError('pickle MARK missing');
    const items = stack.splice(i) as PyValue[];
    items.shift();
    return items;
  };
  const global = (module: string, name: string): PyValue => {
    checkGlobal(module, name);
    return new PyGlobal(`${module}.${name}`);
  };
  const call = (callee: PyValue, args: PyValue[]): PyValue => {
    if (!(callee instanceof PyGlobal))
      throw new PickleFormatError('pickle calls something that is not a global');
    const [module, ...rest] = callee.name.split('.');
    const name = rest.join('.');
    const own = options.rebuilders?.get(callee.name) ?? CONTAINERS[callee.name];
    if (own) return own(args);
    if (BUILTIN_MODULES.has(module)) return SAFE_BUILTINS[name](args);
    return new PyObject(callee.name, args);
  };
  const setItems = (target: PyValue, items: PyValue[]) => {
    if (target instanceof PyDict)
      for (let i = 0; i + 1 < items.length; i += 2) target.entries.set(items[i], items[i + 1]);
    else if (target instanceof PyObject) target.items.push(...items);
    else throw new PickleFormatError('pickle sets items on something that is not a dict');
  };
  const append = (target: PyValue, items: PyValue[]) => {
    if (Array.isArray(target)) target.push(...items);
    else if (target instanceof PyObject) target.items.push(...items);
    else throw new PickleFormatError('pickle appends to something that is not a list');
  };
  const persistent = (pid: PyValue): PyValue => {
    if (!options.persistentLoad)
      throw new PickleFormatError('pickle has a persistent id and no loader for it');
    return options.persistentLoad(pid);
  };

  for (;;) {
    const code = u8();
    switch (code) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = code === 0x8a ? u8() : u32();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v,
        );
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x49: {
        // INT (text): "01"/"00" are True/False in protocol 0
        const text = line();
        stack.push(text === '01' ? true : text === '00' ? false : Number(text));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number(line().replace(/L$/, '')));
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(decoder.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decoder.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decoder.decode(take(u64())));
        break;
      case 0x54: // BINSTRING
        stack.push(new TextDecoder('latin1').decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(new TextDecoder('latin1').decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(Number(line()), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: {
        // GET (text)
        const key = code === 0x68 ? u8() : code === 0x6a ? u32() : Number(line());
        if (!memo.has(key))
          throw new PickleFormatError(`pickle refers to memo ${key}, which was never stored`);
        stack.push(memo.get(key)!);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          throw new PickleFormatError('pickle STACK_GLOBAL without names');
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callee = pop();
        if (!(args instanceof PyTuple))
          throw new PickleFormatError('pickle REDUCE without an argument tuple');
        stack.push(call(callee, args.items));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args instanceof PyTuple ? args.items : []));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop();
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args instanceof PyTuple ? args.items : []));
        break;
      }
      case 0x62: {
        // BUILD: obj.__setstate__(state), recorded on inert objects, ignored elsewhere
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) obj.state = state;
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x50: // PERSID (text)
        stack.push(persistent(line()));
        break;
      default:
        throw new PickleFormatError(`unsupported pickle opcode 0x${code.toString(16)} at byte ${pos - 1}`);
    }
  }
}
