/**
 * PyTorch checkpoints read without Python and without running anything: fixtures written by
 * torch.save (tests/fixtures/pytorch/make_fixtures.py, Debian's python3-torch 1.13).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toNumbers } from '../../src/graph-builder/core/tensor-data';
import { PickleSecurityError, PyObject, PyDict, unpickle } from '../../src/artifacts/pytorch/pickle';
import { openTorchCheckpoint, TorchFormatError } from '../../src/artifacts/pytorch/torch-file';
import * as yauzl from 'yauzl';
import { writeZip64 } from '../helpers/zip64';

/** The entries of a zip, names and bytes, in order. */
async function zipEntries(file: string): Promise<{ name: string; data: Uint8Array }[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z!))),
  );
  const out: { name: string; data: Uint8Array }[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) =>
      zip.openReadStream(entry, (e, stream) => {
        if (e) return reject(e);
        const chunks: Buffer[] = [];
        stream!.on('data', (c: Buffer) => chunks.push(c));
        stream!.on('end', () => {
          out.push({ name: entry.fileName, data: Buffer.concat(chunks) });
          zip.readEntry();
        });
      }),
    );
    zip.on('end', () => resolve());
    zip.readEntry();
  });
  return out;
}

const FIXTURES = path.join(__dirname, '../fixtures/pytorch');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<
  string,
  { shape: number[]; values: number[] }
>;

describe('a torch.save checkpoint', () => {
  test.each(['checkpoint.pt', 'checkpoint-zip64.pt', 'checkpoint-legacy.pt'])(
    'every tensor of %s: float32, fp16, bf16, int64, bool, strided and offset views, parameters, nested lists',
    async (file) => {
      const ckpt = await openTorchCheckpoint(path.join(FIXTURES, file));
      try {
        expect([...ckpt.tensors.keys()].sort()).toEqual(Object.keys(expected).sort());
        for (const [name, want] of Object.entries(expected)) {
          const t = await ckpt.read(ckpt.tensors.get(name)!);
          expect([name, t.shape]).toEqual([name, want.shape]);
          const got = toNumbers(t);
          // fp16/bf16 become float32 exactly; int64 beyond 2^31 survives.
          got.forEach((v, i) => expect([name, i, v]).toEqual([name, i, Math.fround(want.values[i])]));
        }
        expect(ckpt.tensors.get('model.encoder.half')!.storage.type.name).toBe('float16');
        expect(ckpt.tensors.get('model.encoder.strided')!.offset).toBe(7);
        expect(ckpt.tensors.get('model.encoder.strided')!.stride).toEqual([6, 2]);
      } finally {
        ckpt.close();
      }
    },
  );

  test('a ZIP64 checkpoint over 4 GiB: entries past the 4 GiB mark are found and read', async () => {
    // checkpoint.pt's entries behind a 4.5 GiB sparse entry, with ZIP64 records throughout.
    const entries = await zipEntries(path.join(FIXTURES, 'checkpoint.pt'));
    const big = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cae-zip64-')), 'big.pt');
    writeZip64(big, [{ name: 'checkpoint/data/huge', sparse: 4.5 * 2 ** 30 }, ...entries]);
    try {
      expect(fs.statSync(big).size).toBeGreaterThan(2 ** 32);
      const ckpt = await openTorchCheckpoint(big);
      try {
        const t = await ckpt.read(ckpt.tensors.get('model.encoder.weight')!);
        const want = expected['model.encoder.weight'];
        expect(t.shape).toEqual(want.shape);
        expect(Array.from(t.data as Float32Array)).toEqual(want.values.map(Math.fround));
      } finally {
        ckpt.close();
      }
    } finally {
      fs.rmSync(big, { force: true });
    }
  });

  test('objects it does not know stay inert records with their data', async () => {
    const ckpt = await openTorchCheckpoint(path.join(FIXTURES, 'checkpoint.pt'));
    ckpt.close();
    const root = ckpt.root as PyDict;
    const args = root.entries.get('args') as PyObject;
    expect(args).toBeInstanceOf(PyObject);
    expect(args.global).toBe('argparse.Namespace');
    expect((args.state as PyDict).entries.get('lr')).toBe(0.1);
    const config = root.entries.get('config') as PyObject;
    expect(config.global).toBe('__main__.Config');
    expect((config.state as PyDict).entries.get('name')).toBe('tiny');
    expect(root.entries.get('epoch')).toBe(3);
  });

  test('a pickle that would run os.system is refused, naming the global; nothing runs', async () => {
    const marker = '/tmp/cae-onnx-pwned';
    fs.rmSync(marker, { force: true });
    const opened = openTorchCheckpoint(path.join(FIXTURES, 'hostile.pt'));
    await expect(opened).rejects.toThrow(PickleSecurityError);
    await expect(openTorchCheckpoint(path.join(FIXTURES, 'hostile.pt'))).rejects.toThrow(
      /hostile\.pt: refused to load global posix\.system: it could run code/,
    );
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('a truncated file, a non-zip and a missing file are one-line format errors naming the file', async () => {
    await expect(openTorchCheckpoint(path.join(FIXTURES, 'truncated.pt'))).rejects.toThrow(TorchFormatError);
    await expect(openTorchCheckpoint(path.join(FIXTURES, 'truncated.pt'))).rejects.toThrow(/truncated\.pt/);
    const garbage = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cae-torch-')), 'garbage.pt');
    fs.writeFileSync(garbage, 'not a zip at all');
    await expect(openTorchCheckpoint(garbage)).rejects.toThrow(/garbage\.pt is not a PyTorch zip checkpoint/);
    await expect(openTorchCheckpoint('/nonexistent.pt')).rejects.toThrow(/no such file/);
    const legacy = fs.readFileSync(path.join(FIXTURES, 'checkpoint-legacy.pt'));
    const cut = path.join(path.dirname(garbage), 'cut-legacy.pt');
    fs.writeFileSync(cut, legacy.subarray(0, legacy.length - 40));
    await expect(openTorchCheckpoint(cut)).rejects.toThrow(
      /cut-legacy\.pt: storage \d+ is shorter than the tensors that use it/,
    );
  });
});

describe('the pickle reader', () => {
  // Hand-assembled protocol-2 pickles.
  const bytes = (...parts: (number[] | string)[]) =>
    Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

  test.each([
    ['builtins.eval', 'cbuiltins\neval\n'],
    ['builtins.getattr', 'cbuiltins\ngetattr\n'],
    ['subprocess.Popen', 'csubprocess\nPopen\n'],
    ['os.system', 'cos\nsystem\n'],
  ])('refuses %s', (name, global) => {
    const pickle = bytes([0x80, 2], global, [0x29, 0x52, 0x2e]); // GLOBAL, EMPTY_TUPLE, REDUCE, STOP
    expect(() => unpickle(pickle)).toThrow(new RegExp(`refused to load global ${name.replace('.', '\\.')}`));
  });

  test('rebuilds plain values and containers', () => {
    // {'a': [1, 2.5, True, None], 'b': (u'x',)} in protocol 2
    const pickle = bytes(
      [0x80, 2, 0x7d, 0x28],
      [0x58, 1, 0, 0, 0],
      'a',
      [0x5d, 0x28, 0x4b, 1, 0x47, 0x40, 0x04, 0, 0, 0, 0, 0, 0, 0x88, 0x4e, 0x65],
      [0x58, 1, 0, 0, 0],
      'b',
      [0x58, 1, 0, 0, 0],
      'x',
      [0x85, 0x75, 0x2e],
    );
    const d = unpickle(pickle) as PyDict;
    expect(d.entries.get('a')).toEqual([1, 2.5, true, null]);
    expect(d.entries.get('b')).toEqual({ items: ['x'] });
  });

  test('a truncated pickle is a format error, not a crash', () => {
    expect(() => unpickle(bytes([0x80, 2, 0x58, 9, 0, 0, 0], 'ab'))).toThrow(/pickle ends early/);
  });
});
