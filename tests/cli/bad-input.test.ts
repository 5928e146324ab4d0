/**
 * Bad input is the user's to fix, not a bug: every command, given a damaged or wrong file, prints
 * one line naming it and exits 1 (no "internal error", no stack trace), and leaves no half-made
 * output behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli } from '../helpers/cli';
import { smallBuild } from '../helpers/small-cae';

jest.setTimeout(120_000);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-bad-'));
const good = smallBuild({ batch: 4 });
const at = (...p: string[]) => path.join(root, ...p);

/** A copy of the good build with one file replaced. */
function damagedBuild(name: string, file: string, bytes: Buffer | string): string {
  const dir = at(name);
  fs.cpSync(good, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, file), bytes);
  return dir;
}

const manifest = fs.readFileSync(path.join(good, 'manifest.json'));
const params = fs.readFileSync(path.join(good, 'params.safetensors'));
const hugeHeader = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x80]), params.subarray(8)]);
const builds = {
  'truncated manifest.json': damagedBuild('m', 'manifest.json', manifest.subarray(0, 200)),
  'truncated params.safetensors': damagedBuild('p', 'params.safetensors', params.subarray(0, 1000)),
  'params.safetensors with a 2^63 header length': damagedBuild('h', 'params.safetensors', hugeHeader),
  'garbage train_step.onnx': damagedBuild('g', 'train_step.onnx', 'garbage'),
};
const expectedMessage: Record<keyof typeof builds, RegExp> = {
  'truncated manifest.json': /manifest\.json is not valid JSON/,
  'truncated params.safetensors': /params\.safetensors: truncated safetensors file/,
  'params.safetensors with a 2^63 header length':
    /params\.safetensors: not a safetensors file \(implausible header length 9223372036854775808\)/,
  'garbage train_step.onnx': /train_step\.onnx is not an ONNX model/,
};

function expectOneLineError(r: { code: number; stderr: string }, message: RegExp): void {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('cae-onnx: ')),
  ).toHaveLength(1);
}

describe.each(Object.keys(builds) as (keyof typeof builds)[])('a build with a %s', (kind) => {
  test('train --build: one line naming the file, and no run folder left behind', async () => {
    const out = at(`run-${kind.replace(/\W+/g, '-')}`);
    const r = await cli('train', '--build', builds[kind], '--steps', '1', '--out', out);
    expectOneLineError(r, expectedMessage[kind]);
    expect(fs.existsSync(out)).toBe(false);
  });

  test('info reads only the manifest: one line when that is what is damaged, else the summary', async () => {
    const r = await cli('info', builds[kind]);
    if (kind === 'truncated manifest.json') expectOneLineError(r, expectedMessage[kind]);
    else expect(r.code).toBe(0);
  });
});

test('export and reconstruct on a checkpoint with a truncated params.safetensors: one line', async () => {
  const run = at('ckpt-run');
  expect((await cli('train', '--build', good, '--steps', '1', '--limit', '64', '--out', run)).code).toBe(0);
  const ckpt = fs.readdirSync(path.join(run, 'checkpoints')).map((d) => path.join(run, 'checkpoints', d))[0];
  const file = path.join(ckpt, 'params.safetensors');
  fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 500));
  const message = /params\.safetensors: truncated safetensors file/;
  expectOneLineError(await cli('export', '--checkpoint', run, '--out', at('e.onnx')), message);
  expectOneLineError(await cli('reconstruct', '--checkpoint', run, '--out', at('g.png')), message);
  expect(fs.existsSync(at('e.onnx'))).toBe(false);
});

describe('damaged data and models', () => {
  const garbage = at('garbage.bin');
  fs.writeFileSync(garbage, 'this is not what any reader wants');
  const empty = at('empty');
  fs.mkdirSync(empty);
  const noImages = at('no-images');
  fs.mkdirSync(noImages);
  fs.writeFileSync(path.join(noImages, 'readme.txt'), 'hello');

  test.each([
    [
      'train --data on an empty folder',
      ['train', '--data', empty, '--steps', '1', '--out', at('r1')],
      /no images .* under .*empty/,
    ],
    [
      'train --data on a folder without images',
      ['train', '--data', noImages, '--steps', '1', '--out', at('r2')],
      /no images .* under .*no-images/,
    ],
    [
      'train --idx on a garbage file',
      ['train', '--idx', garbage, '--steps', '1', '--out', at('r3')],
      /garbage\.bin: wrong IDX magic/,
    ],
    [
      'probe --encoder on a garbage file',
      ['probe', '--encoder', garbage, '--data', 'mnist:train', '--val', 'mnist:test'],
      /garbage\.bin is not an ONNX model/,
    ],
    ['inspect on a garbage file', ['inspect', garbage], /garbage\.bin is not an ONNX model/],
    [
      'build --tokenizer on a garbage file',
      ['build', '--tokenizer', garbage, '--out', at('b1')],
      /garbage\.bin is not an ONNX model/,
    ],
    [
      'import on a garbage file',
      ['import', garbage, '--out', at('i1')],
      /garbage\.bin is not a PyTorch zip checkpoint/,
    ],
    [
      'import-tokenizer on a garbage file',
      ['import-tokenizer', garbage, '--out', at('t.onnx')],
      /garbage\.bin is not a PyTorch zip checkpoint/,
    ],
  ])('%s: one line naming it', async (_what, args, message) => {
    expectOneLineError(await cli(...args), message);
  });

  test('a run that fails on its data leaves no run folder', async () => {
    await cli('train', '--data', empty, '--steps', '1', '--out', at('r-empty'));
    expect(fs.existsSync(at('r-empty'))).toBe(false);
  });

  test('numeric flags are range-checked', async () => {
    for (const args of [
      ['train', '--lr', '-1'],
      ['train', '--min-lr', '-1e-5'],
      ['build', '--beta2', '1'],
      ['build', '--drop-path', '1'],
      ['probe', '--temperature', '0', '--encoder', garbage, '--data', 'x', '--val', 'y'],
    ]) {
      const r = await cli(...args, '--out', at('never'));
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 1]);
      expect(r.stderr).toMatch(/argument .* is invalid\. must be in/);
    }
    expect(fs.existsSync(at('never'))).toBe(false);
  });
});
