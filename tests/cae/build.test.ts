import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli } from '../helpers/cli';
import { buildArtifacts, PARAMS_FILE } from '../../src/artifacts/build';
import { readManifest } from '../../src/artifacts/manifest';
import { readModelFile } from '../../src/artifacts/onnx-file';
import { readSafetensors } from '../../src/artifacts/safetensors';
import { inspectTokenizer } from '../../src/artifacts/tokenizer';
import { resolveConfig } from '../../src/graph-builder/cae/config';
import { CAE_INPUTS } from '../../src/graph-builder/cae/model';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { ADAMW_DEFAULTS } from '../../src/graph-builder/optim/adamw';
import { Rng } from '../../src/random/rng';
import { makeMaskBatch } from '../../src/runtime/masking';
import { ModelSession } from '../../src/runtime/session';
import { tinyTokenizer } from '../helpers/tiny-tokenizer';
import { StepSession, stepScalars } from '../../src/runtime/train/step-session';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cae-build-'));

const optimizer = { ...ADAMW_DEFAULTS, clipGradNorm: 3 };
const config = resolveConfig('cae-tiny-28', { batch: 4 });

function batch(seed: number): Record<string, TensorData> {
  const rng = new Rng(seed);
  const m = makeMaskBatch(rng, { batch: 4, grid: { height: 7, width: 7 }, numMasked: 24, kind: 'block' });
  return {
    [CAE_INPUTS.images]: tensorData(
      'float32',
      [4, 1, 28, 28],
      Float32Array.from({ length: 4 * 784 }, () => rng.normal()),
    ),
    [CAE_INPUTS.visibleIndex]: tensorData('int64', [4, 25], m.visibleIndex),
    [CAE_INPUTS.maskedIndex]: tensorData('int64', [4, 24], m.maskedIndex),
  };
}

describe('buildArtifacts', () => {
  const dir = tmp();
  const manifest = buildArtifacts({ outDir: dir, config, seed: 1, optimizer });

  test('writes every artifact, manifest last', () => {
    for (const f of [
      'manifest.json',
      PARAMS_FILE,
      'train_step.onnx',
      'grad_step.onnx',
      'eval_step.onnx',
      'encoder.onnx',
    ]) {
      expect(fs.existsSync(path.join(dir, f))).toBe(true);
    }
    expect(readManifest(dir)).toEqual(JSON.parse(JSON.stringify(manifest)));
  });

  test("every graph records the package.json version as its producer's", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as {
      version: string;
    };
    expect(manifest.createdBy).toBe(`cae-onnx ${pkg.version}`);
    for (const f of ['train_step.onnx', 'grad_step.onnx', 'eval_step.onnx', 'encoder.onnx']) {
      const model = readModelFile(path.join(dir, f));
      expect([model.producerName, model.producerVersion]).toEqual(['cae-onnx', pkg.version]);
    }
  });

  test('the manifest describes parameters, decay flags and graph interfaces', () => {
    const byName = new Map(manifest.params.map((p) => [p.name, p]));
    expect(byName.get('encoder.blocks.0.attn.qkv.weight')).toMatchObject({
      shape: [192, 64],
      weightDecay: true,
      trainable: true,
    });
    expect(byName.get('encoder.blocks.0.attn.q_bias')?.weightDecay).toBe(false);
    expect(byName.get('decoder.head.bias')?.weightDecay).toBe(false);
    expect(byName.get('mask_token')?.shape).toEqual([1, 1, 64]);
    const train = manifest.graphs.train_step;
    expect(train.inputs.map((i) => i.name)).toEqual(
      expect.arrayContaining(['images', 'visible_index', 'masked_index', 'lr', 'step', 'exp_avg.mask_token']),
    );
    expect(train.outputs.map((o) => o.name)).toEqual(
      expect.arrayContaining([
        'loss',
        'loss_rec',
        'loss_align',
        'grad_norm',
        'mask_token.next',
        'exp_avg_sq.mask_token.next',
      ]),
    );
    expect(manifest.graphs.encoder!.inputs[0]).toEqual({
      name: 'images',
      dtype: 'float32',
      shape: ['batch', 1, 28, 28],
    });
    expect(manifest.graphs.encoder!.outputs[0]).toEqual({
      name: 'tokens',
      dtype: 'float32',
      shape: ['batch', 50, 64],
    });
    expect(manifest.graphs.train_step.matmulFlops).toBeGreaterThan(
      2 * manifest.graphs.eval_step!.matmulFlops,
    );
  });

  test('params.safetensors holds the reference state_dict: parameters, positions, alignment copy', () => {
    const { tensors } = readSafetensors(path.join(dir, PARAMS_FILE));
    for (const p of manifest.params) expect(tensors.get(p.name)?.shape).toEqual(p.shape);
    expect([...tensors.keys()].sort()).toEqual(
      [...manifest.params.map((p) => p.name), ...manifest.referenceOnly].sort(),
    );
    expect(tensors.get('alignment_encoder.norm.weight')!.data).toEqual(
      tensors.get('encoder.norm.weight')!.data,
    );
    const pos = tensors.get('encoder.pos_embed')!;
    expect(pos.shape).toEqual([1, 50, 64]);
    expect(Array.from((pos.data as Float32Array).slice(0, 64)).every((v) => v === 0)).toBe(true);
    expect(tensors.get('rd_pos_embed')!.shape).toEqual([1, 50, 64]);
    expect(Array.from((tensors.get('encoder.blocks.0.gamma_1')!.data as Float32Array).slice(0, 3))).toEqual(
      [0.1, 0.1, 0.1].map(Math.fround),
    );
  });

  test('train_step from the build lowers the loss on a fixed batch; eval_step agrees', async () => {
    const { tensors } = readSafetensors(path.join(dir, PARAMS_FILE), {
      names: (n) => manifest.params.some((p) => p.name === n),
    });
    const session = await StepSession.create(path.join(dir, 'train_step.onnx'), tensors);
    const data = batch(2);
    const losses: number[] = [];
    for (let t = 1; t <= 8; t++)
      losses.push(Number((await session.run({ ...data, ...stepScalars(2e-3, t) })).loss.data[0]));
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    const evalSession = await ModelSession.create(path.join(dir, 'eval_step.onnx'));
    const evaluated = await evalSession.run({ ...data, ...Object.fromEntries(tensors) });
    expect(Number(evaluated.loss.data[0])).toBeCloseTo(losses[0], 4);
  });

  test('an existing build is not replaced without force', () => {
    expect(() => buildArtifacts({ outDir: dir, config, seed: 1, optimizer })).toThrow(
      /already holds a build/,
    );
  });
});

describe('token targets from a tokenizer model', () => {
  test('a matching tokenizer sets the vocabulary; the train graph takes target_tokens', async () => {
    const dir = tmp();
    const file = path.join(dir, 'tok.onnx');
    tinyTokenizer(file);
    const spec = inspectTokenizer(file, config);
    expect(spec).toMatchObject({ inputSize: 14, inChans: 1, vocabSize: 16, scale: 0.8, shift: 0.1 });
    const out = path.join(dir, 'build');
    const result = await cli('build', '--out', out, '--batch', '2', '--tokenizer', file);
    expect(result.code).toBe(0);
    const m = readManifest(out);
    expect(m.config).toMatchObject({ target: 'tokens', vocabSize: 16 });
    expect(m.tokenizer?.file).toBe('tokenizer.onnx');
    expect(fs.existsSync(path.join(out, 'tokenizer.onnx'))).toBe(true);
    expect(m.graphs.train_step.inputs.find((i) => i.name === 'target_tokens')?.shape).toEqual([2, 24]);
    expect(m.params.find((p) => p.name === 'decoder.head.weight')?.shape).toEqual([16, 64]);
  });

  test('a tokenizer whose grid does not match the patches is refused clearly', () => {
    const dir = tmp();
    const file = path.join(dir, 'tok.onnx');
    tinyTokenizer(file, 8);
    expect(() => inspectTokenizer(file, config)).toThrow(/8x8 token grid; the model has 7x7 patches/);
  });
});

describe('the CLI', () => {
  test('build then info prints parameter counts per part and FLOPs', async () => {
    const out = path.join(tmp(), 'b');
    const built = await cli('build', '--out', out, '--batch', '8', '--embed-dim', '32', '--heads', '2');
    expect(built.code).toBe(0);
    const info = await cli('info', out);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/trainable parameters: [\d,]+/);
    expect(info.stdout).toMatch(/encoder 32d x 4 blocks, 2 heads/);
    expect(info.stdout).toMatch(/train step \(fwd \+ bwd \+ target\)\s+[\d.]+ GFLOP/);
  });

  test.each([
    [['build', '--out', 'x', '--preset', 'nope'], /unknown preset 'nope'/],
    [['build', '--out', 'x', '--batch', '0'], /--batch.*must be a positive integer/],
    [['build', '--out', 'x', '--embed-dim', '30', '--heads', '4'], /not divisible|multiples of 4/],
    [['info', '/nonexistent'], /has no manifest.json/],
    [['build', '--out', 'x', '--config', '/nonexistent.json'], /no such config file/],
  ])('%j fails with a clear message', async (args, message) => {
    const r = await cli(...(args as string[]));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message as RegExp);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
