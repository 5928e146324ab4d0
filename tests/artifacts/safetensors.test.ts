import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../src/artifacts/safetensors';
import { decodeSafetensors, encodeSafetensors } from '../../src/artifacts/safetensors-format';
import { DType } from '../../src/graph-builder/core/dtype';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';

const dirs: string[] = [];
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-onnx-safetensors-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A safetensors file built by hand: length prefix, header text (not padded here), data bytes. */
function handBuilt(header: string, data: number[] | Uint8Array): Buffer {
  const json = Buffer.from(header, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.byteLength), 0);
  return Buffer.concat([prefix, json, Buffer.from(data)]);
}

function sample(): Map<string, TensorData> {
  const m = new Map<string, TensorData>();
  m.set('f32', tensorData('float32', [2, 3], Float32Array.from([1.5, -2, 0, 3.25, -0, 1e-30])));
  m.set('f64', tensorData('float64', [3], Float64Array.from([Math.PI, -1e300, Number.MIN_VALUE])));
  m.set(
    'i64',
    tensorData('int64', [4], BigInt64Array.from([2n ** 62n + 1n, -(2n ** 63n), 9007199254740993n, -1n])),
  );
  m.set('i32', tensorData('int32', [2, 1], Int32Array.from([-2147483648, 2147483647])));
  m.set('u8', tensorData('uint8', [5], Uint8Array.from([0, 1, 127, 128, 255])));
  m.set('mask', tensorData('bool', [3], Uint8Array.from([1, 0, 1])));
  // float16 as raw bits: 1.0, NaN, -inf
  m.set('f16', tensorData('float16', [3], Uint16Array.from([0x3c00, 0x7e00, 0xfc00])));
  m.set('scalar', tensorData('float32', [], Float32Array.from([42])));
  m.set('empty', tensorData('int32', [2, 0, 3], new Int32Array(0)));
  return m;
}

describe('safetensors round trip', () => {
  it('round-trips every dtype, a scalar, an empty tensor and metadata, in insertion order', () => {
    const file = path.join(tmp(), 'model.safetensors');
    const tensors = sample();
    writeSafetensors(file, tensors, { format: 'pt', step: '12', note: 'ünïcode ✓' });
    const back = readSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt', step: '12', note: 'ünïcode ✓' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      const r = back.tensors.get(name)!;
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(r.data.constructor).toBe(t.data.constructor);
      expect(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength)).toEqual(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      );
    }
    expect(back.tensors.get('i64')!.data).toEqual(
      BigInt64Array.from([2n ** 62n + 1n, -(2n ** 63n), 9007199254740993n, -1n]),
    );
    expect(back.tensors.get('f16')!.data).toEqual(Uint16Array.from([0x3c00, 0x7e00, 0xfc00]));
    expect(back.tensors.get('scalar')!.shape).toEqual([]);
    expect(back.tensors.get('empty')!.data.length).toBe(0);
  });

  it('accepts an iterable of pairs and tensor data that views part of a larger buffer', () => {
    const file = path.join(tmp(), 'm.safetensors');
    const big = new Float32Array([9, 1, 2, 3, 9]);
    function* pairs(): Generator<[string, TensorData]> {
      yield ['z', tensorData('float32', [3], big.subarray(1, 4))];
      yield ['a', tensorData('uint8', [1], Uint8Array.from([7]))];
    }
    writeSafetensors(file, pairs());
    const back = readSafetensors(file);
    expect([...back.tensors.keys()]).toEqual(['z', 'a']);
    expect(back.tensors.get('z')!.data).toEqual(Float32Array.from([1, 2, 3]));
    expect(back.metadata).toEqual({});
    expect(fs.statSync(file).size).toBe(8 + readHeaderLength(file) + 12 + 1);
  });

  it('keeps integer-like tensor names in data order', () => {
    const file = path.join(tmp(), 'm.safetensors');
    writeSafetensors(file, [
      ['10', tensorData('uint8', [1], Uint8Array.from([10]))],
      ['2', tensorData('uint8', [1], Uint8Array.from([2]))],
      ['b', tensorData('uint8', [1], Uint8Array.from([3]))],
    ]);
    expect([...readSafetensors(file).tensors.keys()]).toEqual(['10', '2', 'b']);
  });
});

function readHeaderLength(file: string): number {
  return Number(fs.readFileSync(file).readBigUInt64LE(0));
}

describe('safetensors external format', () => {
  it('writes exactly the bytes the format prescribes for one F32 tensor', () => {
    const file = path.join(tmp(), 'tiny.safetensors');
    writeSafetensors(file, new Map([['x', tensorData('float32', [2], Float32Array.from([1, 2]))]]));
    const header = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes
    const expected = Buffer.concat([
      Buffer.from([56, 0, 0, 0, 0, 0, 0, 0]), // 54 padded with 2 spaces to 56: data starts at 64
      Buffer.from(header + '  ', 'utf8'),
      Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40]), // 1.0f, 2.0f little-endian
    ]);
    expect(fs.readFileSync(file)).toEqual(expected);
  });

  it('puts __metadata__ first, as the reference implementation does', () => {
    const file = path.join(tmp(), 'tiny.safetensors');
    writeSafetensors(file, [['b', tensorData('bool', [1], Uint8Array.from([1]))]], { format: 'pt' });
    const header = '{"__metadata__":{"format":"pt"},"b":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}';
    const pad = (8 - (header.length % 8)) % 8;
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length + pad), 0);
    expect(fs.readFileSync(file)).toEqual(
      Buffer.concat([prefix, Buffer.from(header + ' '.repeat(pad)), Buffer.from([1])]),
    );
  });

  it('reads a hand-built file (other key order, unpadded, unaligned data start)', () => {
    const file = path.join(tmp(), 'hand.safetensors');
    const header =
      '{ "b": {"data_offsets": [8, 16], "shape": [2], "dtype": "I32"},' +
      ' "__metadata__": {"k": "v"},' +
      '  "a": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]} }';
    expect((8 + Buffer.byteLength(header)) % 8).not.toBe(0);
    const data = Buffer.alloc(16);
    data.writeDoubleLE(-0.5, 0);
    data.writeInt32LE(-7, 8);
    data.writeInt32LE(123456, 12);
    fs.writeFileSync(file, handBuilt(header, data));

    const { tensors, metadata } = readSafetensors(file);
    expect(metadata).toEqual({ k: 'v' });
    expect([...tensors.keys()]).toEqual(['a', 'b']); // data order
    expect(tensors.get('a')).toEqual({ dtype: 'float64', shape: [], data: Float64Array.from([-0.5]) });
    expect(tensors.get('b')).toEqual({ dtype: 'int32', shape: [2], data: Int32Array.from([-7, 123456]) });
    expect(tensors.get('b')!.data.byteOffset % 4).toBe(0);

    const h = readSafetensorsHeader(file);
    expect(h.metadata).toEqual({ k: 'v' });
    expect(h.entries).toEqual(
      new Map([
        ['a', { dtype: 'float64', shape: [], begin: 0, end: 8 }],
        ['b', { dtype: 'int32', shape: [2], begin: 8, end: 16 }],
      ]),
    );
  });

  it('aligns the data start to 8 bytes with space padding, whatever the header length', () => {
    const dir = tmp();
    for (let len = 1; len <= 9; len++) {
      const file = path.join(dir, `a${len}.safetensors`);
      writeSafetensors(file, [['n'.repeat(len), tensorData('float64', [1], Float64Array.from([len]))]]);
      const bytes = fs.readFileSync(file);
      const n = Number(bytes.readBigUInt64LE(0));
      expect((8 + n) % 8).toBe(0);
      const text = bytes.subarray(8, 8 + n).toString('utf8');
      expect(text).toMatch(/^\{.*\} {0,7}$/);
      expect(bytes.readDoubleLE(8 + n)).toBe(len);
    }
  });

  it('writes an empty header {} padded to 8 bytes for no tensors', () => {
    const file = path.join(tmp(), 'none.safetensors');
    writeSafetensors(file, new Map());
    expect(fs.readFileSync(file)).toEqual(
      Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{}      ')]),
    );
    expect(readSafetensors(file)).toEqual({ tensors: new Map(), metadata: {} });
  });
});

describe('safetensors name filtering and large offsets', () => {
  it('reads only the tensors the filter selects', () => {
    const file = path.join(tmp(), 'm.safetensors');
    writeSafetensors(file, sample());
    const { tensors } = readSafetensors(file, { names: (n) => n.startsWith('f') });
    expect([...tensors.keys()]).toEqual(['f32', 'f64', 'f16']);
    expect(tensors.get('f64')!.data).toEqual(Float64Array.from([Math.PI, -1e300, Number.MIN_VALUE]));
  });

  it('reads a tensor stored beyond 2 GiB (sparse file)', () => {
    const file = path.join(tmp(), 'big.safetensors');
    const padBytes = 2 ** 31 + 16;
    const header = JSON.stringify({
      pad: { dtype: 'U8', shape: [padBytes], data_offsets: [0, padBytes] },
      x: { dtype: 'F32', shape: [2], data_offsets: [padBytes, padBytes + 8] },
    });
    const head = handBuilt(header, []);
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, head, 0, head.byteLength, 0);
      fs.writeSync(fd, Buffer.from(Float32Array.from([3.5, -4]).buffer), 0, 8, head.byteLength + padBytes);
    } finally {
      fs.closeSync(fd);
    }
    expect(readSafetensorsHeader(file).entries.get('x')).toEqual({
      dtype: 'float32',
      shape: [2],
      begin: padBytes,
      end: padBytes + 8,
    });
    const { tensors } = readSafetensors(file, { names: (n) => n === 'x' });
    expect([...tensors.keys()]).toEqual(['x']);
    expect(tensors.get('x')!.data).toEqual(Float32Array.from([3.5, -4]));
  });
});

describe('safetensors errors', () => {
  const good = () => {
    const file = path.join(tmp(), 'good.safetensors');
    writeSafetensors(file, [
      ['a', tensorData('float32', [2], Float32Array.from([1, 2]))],
      ['b', tensorData('int64', [1], BigInt64Array.from([5n]))],
    ]);
    return file;
  };
  const expectError = (file: string, pattern: RegExp) => {
    expect(() => readSafetensors(file)).toThrow(pattern);
    expect(() => readSafetensors(file)).toThrow(file);
    expect(() => readSafetensorsHeader(file)).toThrow(pattern);
  };
  const withHeader = (header: string, data: number[] = []) => {
    const file = path.join(tmp(), 'bad.safetensors');
    fs.writeFileSync(file, handBuilt(header, data));
    return file;
  };

  it('rejects files too short to be safetensors', () => {
    const file = path.join(tmp(), 'short.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    expectError(file, /not a safetensors file/);
  });

  it('rejects an implausible header length', () => {
    const file = path.join(tmp(), 'bad.safetensors');
    const b = Buffer.alloc(64);
    b.writeBigUInt64LE(2n ** 40n, 0);
    fs.writeFileSync(file, b);
    expectError(file, /implausible header length/);
  });

  it('rejects a header length beyond the end of the file', () => {
    const file = good();
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, 20));
    expectError(file, /truncated.*header length/);
  });

  it('rejects a header that is not JSON', () => {
    expectError(withHeader('{"a": {"dtype": "F32",'), /invalid safetensors header JSON/);
    expectError(withHeader('PK\u0003\u0004 zip or so'), /not a safetensors file/);
  });

  it('rejects truncated data (offsets beyond the end)', () => {
    const file = good();
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.byteLength - 4));
    expectError(
      file,
      /tensor "b" data_offsets \[8, 16\] go past the end of the data \(12 bytes; file truncated\?\)/,
    );
    expectError(
      withHeader('{"x":{"dtype":"U8","shape":[4],"data_offsets":[100,104]}}', [1, 2, 3, 4]),
      /go past the end/,
    );
  });

  it('rejects overlapping offsets', () => {
    const file = withHeader(
      '{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"y":{"dtype":"I32","shape":[1],"data_offsets":[2,6]}}',
      [0, 0, 0, 0, 0, 0],
    );
    expectError(file, /"x" \[0, 4\] and "y" \[2, 6\] overlap/);
  });

  it('rejects unknown dtypes', () => {
    const file = withHeader('{"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', [0, 0]);
    expectError(file, /tensor "x" has unsupported dtype "BF16"/);
  });

  it('rejects a shape that does not match the offsets', () => {
    const file = withHeader(
      '{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}',
      [0, 0, 0, 0, 0, 0, 0, 0],
    );
    expectError(file, /needs 12 bytes, but its data_offsets \[0, 8\] span 8/);
  });

  it('rejects malformed entries', () => {
    expectError(
      withHeader('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', [0, 0, 0, 0]),
      /invalid data_offsets/,
    );
    expectError(
      withHeader('{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      /invalid shape/,
    );
    expectError(withHeader('{"x":3}'), /not an object/);
    expectError(withHeader('{"__metadata__":{"k":1}}'), /metadata value for "k" is not a string/);
  });
});

describe('safetensors atomic writes', () => {
  const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp'));

  it('leaves no file at the target when a tensor has an unsupported dtype', () => {
    const dir = tmp();
    const file = path.join(dir, 'out.safetensors');
    const bad = { dtype: 'bfloat16' as DType, shape: [1], data: new Uint16Array(1) } as TensorData;
    expect(() =>
      writeSafetensors(file, [
        ['ok', tensorData('float32', [1], Float32Array.from([1]))],
        ['bad', bad],
      ]),
    ).toThrow(/tensor "bad" has dtype "bfloat16"/);
    expect(fs.existsSync(file)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('keeps the previous file intact when a write fails', () => {
    const dir = tmp();
    const file = path.join(dir, 'out.safetensors');
    writeSafetensors(file, [['w', tensorData('float32', [1], Float32Array.from([7]))]]);
    const before = fs.readFileSync(file);
    const mismatched = { dtype: 'float32', shape: [3], data: new Float32Array(2) } as TensorData;
    expect(() => writeSafetensors(file, [['w', mismatched]])).toThrow(/needs a Float32Array of 3 elements/);
    const wrongArray = { dtype: 'int64', shape: [1], data: new Float64Array(1) } as unknown as TensorData;
    expect(() => writeSafetensors(file, [['w', wrongArray]])).toThrow(/needs a BigInt64Array/);
    expect(() =>
      writeSafetensors(file, [
        ['w', tensorData('uint8', [1])],
        ['w', tensorData('uint8', [1])],
      ]),
    ).toThrow(/duplicate tensor name "w"/);
    expect(() => writeSafetensors(file, [['__metadata__', tensorData('uint8', [1])]])).toThrow(
      /cannot be a tensor name/,
    );
    expect(fs.readFileSync(file)).toEqual(before);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('in memory (the page)', () => {
  const tensors = new Map<string, TensorData>([
    ['a.weight', tensorData('float32', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6))],
    ['step', tensorData('int64', [], BigInt64Array.of(7n))],
  ]);

  test('encodeSafetensors gives the bytes writeSafetensors writes, and decodes back', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cae-st-mem-')), 'x.safetensors');
    writeSafetensors(file, tensors, { step: '7' });
    const bytes = encodeSafetensors(tensors, { step: '7' });
    expect(Buffer.from(bytes).equals(fs.readFileSync(file))).toBe(true);
    const back = decodeSafetensors(bytes, 'x');
    expect(back.metadata).toEqual({ step: '7' });
    expect(back.tensors.get('a.weight')).toEqual(tensors.get('a.weight'));
    expect(back.tensors.get('step')).toEqual(tensors.get('step'));
  });

  test('truncated bytes are a FileFormatError naming the file', () => {
    const bytes = encodeSafetensors(tensors);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'cut.safetensors')).toThrow(
      /cut\.safetensors: tensor .* go past the end of the data/,
    );
    expect(() => decodeSafetensors(bytes.subarray(0, 5), 'tiny')).toThrow(/tiny: not a safetensors file/);
  });
});
