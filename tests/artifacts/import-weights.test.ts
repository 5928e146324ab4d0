/**
 * `cae-onnx import` on files written by torch.save (tests/fixtures/pytorch/make_import_fixtures.py:
 * one tiny CAE from bench/torch/cae_model.py saved in each layout). The exported encoder's tokens
 * must equal the PyTorch encoder's on the same images.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tensorData } from '../../src/graph-builder/core/tensor-data';
import { ModelSession } from '../../src/runtime/session';
import { readCheckpoint } from '../../src/runtime/train/checkpoint';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { readWeightsFile } from '../../src/artifacts/imports/weights-file';
import { writeSafetensors } from '../../src/artifacts/safetensors';
import { cli } from '../helpers/cli';

jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '../fixtures/pytorch');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'import-expected.json'), 'utf8')) as {
  images: number[];
  tokens_shape: number[];
  tokens: number[];
  masked_index: number[];
  visible_index: number[];
  losses: { loss: number; loss_rec: number; loss_align: number };
};
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-import-'));

/** `cae-onnx import` of a fixture with the tiny model's heads. */
const importTiny = (file: string, out: string, ...extra: string[]) =>
  cli('import', path.join(FIXTURES, file), '--out', out, '--heads', '2', '--decoder-heads', '2', ...extra);

async function exportedTokens(run: string): Promise<Float32Array> {
  const encoder = path.join(run, 'encoder.onnx');
  const exported = await cli('export', '--checkpoint', run, '--out', encoder);
  expect(exported.code).toBe(0);
  const session = await ModelSession.create(encoder);
  const out = await session.run({
    images: tensorData('float32', [2, 1, 28, 28], Float32Array.from(expected.images)),
  });
  await session.release();
  expect(out.tokens.shape).toEqual(expected.tokens_shape);
  return out.tokens.data as Float32Array;
}

/** Largest |ours - torch| relative to the largest |torch|. */
function relativeError(ours: Float32Array): number {
  const scale = expected.tokens.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return ours.reduce((m, v, i) => Math.max(m, Math.abs(v - expected.tokens[i])), 0) / scale;
}

test.each([
  ['cae-official.pt', /official CAE pretraining checkpoint/, 0],
  ['cae-encoder-only.pt', /CAE encoder only/, 83],
  ['vit-timm.pt', /plain ViT/, 83],
  ['vit-finetuned.pt', /plain ViT[\s\S]*fc_norm/, 83],
  [
    'vit-mmpretrain.pt',
    /mmpretrain[\s\S]*ignored 1: outside the model state dict \(e\.g\. state_dict\.head\.fc\.weight\)/,
    83,
  ],
])(
  '%s imports, and its exported encoder equals the PyTorch encoder within 1e-4',
  async (file, kind, fresh) => {
    const run = path.join(root, file);
    const r = await cli(
      'import',
      path.join(FIXTURES, file),
      '--out',
      run,
      '--heads',
      '2',
      '--decoder-heads',
      '2',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(kind);
    expect(r.stdout).toMatch(new RegExp(`${fresh} parameters newly initialized`));
    expect(relativeError(await exportedTokens(run))).toBeLessThan(1e-4);
  },
);

describe('a ViT with a learned position table', () => {
  const learned = JSON.parse(
    fs.readFileSync(path.join(FIXTURES, 'import-learned-expected.json'), 'utf8'),
  ) as {
    images: number[];
    tokens: number[];
    images32: number[];
    tokens32: number[];
  };

  async function tokensOf(run: string, images: number[], size: number): Promise<Float32Array> {
    const encoder = path.join(run, 'encoder.onnx');
    expect((await cli('export', '--checkpoint', run, '--out', encoder)).code).toBe(0);
    const session = await ModelSession.create(encoder);
    const out = await session.run({
      images: tensorData('float32', [2, 1, size, size], Float32Array.from(images)),
    });
    await session.release();
    return out.tokens.data as Float32Array;
  }

  const relative = (ours: Float32Array, want: number[]) =>
    ours.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0) /
    want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

  test('is carried: the exported encoder equals the PyTorch ViT with that table (1e-4)', async () => {
    const run = path.join(root, 'learned');
    const r = await importTiny('vit-learned-pos.pt', run);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pos_embed: a learned position table \(carried as encoder\.pos_embed\)/);
    expect(relative(await tokensOf(run, learned.images, 28), learned.tokens)).toBeLessThan(1e-4);
    // It trains like any parameter (no weight decay, as timm).
    const param = readCheckpoint(run).manifest.params.find((p) => p.name === 'encoder.pos_embed');
    expect(param).toMatchObject({ trainable: true, weightDecay: false, shape: [1, 50, 32] });
  });

  test("is resized bicubically for another image size, as PyTorch's interpolate (1e-4)", async () => {
    const run = path.join(root, 'learned-32');
    const r = await importTiny('vit-learned-pos.pt', run, '--image-size', '32');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /note: the learned position table was resized bicubically from 7x7 to 8x8 patches for 32px images/,
    );
    expect(relative(await tokensOf(run, learned.images32, 32), learned.tokens32)).toBeLessThan(1e-4);
  });
});

test('the official checkpoint keeps every regressor and decoder weight', async () => {
  const ckpt = readCheckpoint(path.join(root, 'cae-official.pt'));
  const again = readCheckpoint(path.join(root, 'cae-encoder-only.pt'));
  const differs = (name: string) =>
    (ckpt.params.get(name)!.data as Float32Array).some(
      (v, i) => v !== (again.params.get(name)!.data as Float32Array)[i],
    );
  expect(differs('decoder.head.weight')).toBe(true); // imported vs newly initialized
  expect(differs('encoder.blocks.1.mlp.fc2.weight')).toBe(false); // the same encoder in both files
});

test("the imported official checkpoint's pretraining loss equals the PyTorch model's on the same batch and mask", async () => {
  const run = path.join(root, 'official-batch-2');
  const file = path.join(FIXTURES, 'cae-official.pt');
  const r = await cli('import', file, '--out', run, '--heads', '2', '--decoder-heads', '2', '--batch', '2');
  expect(r.code).toBe(0);
  const ckpt = readCheckpoint(run);
  const session = await ModelSession.create(path.join(run, 'build', 'eval_step.onnx'));
  const out = await session.run({
    images: tensorData('float32', [2, 1, 28, 28], Float32Array.from(expected.images)),
    visible_index: tensorData('int64', [2, 25], BigInt64Array.from(expected.visible_index, BigInt)),
    masked_index: tensorData('int64', [2, 24], BigInt64Array.from(expected.masked_index, BigInt)),
    ...Object.fromEntries(ckpt.params),
  });
  await session.release();
  for (const term of ['loss', 'loss_rec', 'loss_align'] as const) {
    const ours = Number(out[term].data[0]);
    expect(Math.abs(ours - expected.losses[term]) / expected.losses[term]).toBeLessThan(1e-5);
  }
});

test('a ViT with a key bias is refused with the reason, and leaves nothing behind', async () => {
  const run = path.join(root, 'k-bias');
  const r = await cli('import', path.join(FIXTURES, 'vit-k-bias.pt'), '--out', run, '--heads', '2');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^cae-onnx: .*vit-k-bias\.pt: blocks\.0\.attn\.qkv\.bias has a key bias .*query and value biases only/,
  );
  expect(fs.existsSync(run)).toBe(false);
});

test('a ViT with relative position biases (BEiT) is refused: they are not part of the CAE encoder', async () => {
  const { tensors } = await readWeightsFile(path.join(FIXTURES, 'vit-timm.pt'));
  tensors.set(
    'blocks.0.attn.relative_position_bias_table',
    tensorData('float32', [3, 2], new Float32Array(6)),
  );
  const file = path.join(root, 'beit.safetensors');
  writeSafetensors(file, tensors);
  const r = await cli('import', file, '--out', path.join(root, 'beit'), '--heads', '2');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /relative_position_bias_table: relative position biases \(BEiT-style\) are not part of the CAE encoder/,
  );
});

test('a hostile pickle is refused by import, naming the global', async () => {
  const r = await cli('import', path.join(FIXTURES, 'hostile.pt'), '--out', path.join(root, 'hostile'));
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/refused to load global posix\.system/);
});

test('imported weights train from their build, and --resume on the import folder starts pretraining there', async () => {
  const run = path.join(root, 'cae-official.pt');
  const trained = path.join(root, 'trained');
  const t = await cli(
    'train',
    '--build',
    path.join(run, 'build'),
    '--steps',
    '2',
    '--limit',
    '64',
    '--out',
    trained,
  );
  expect(t.code).toBe(0);
  expect(readCheckpoint(trained).state.step).toBe(2);
  const resumed = await cli('train', '--resume', run, '--steps', '2', '--limit', '64');
  expect(resumed.code).toBe(0);
  expect(resumed.stderr).toMatch(/pretraining from the weights imported from .*cae-official\.pt/);
  expect(readCheckpoint(run).state.step).toBe(2);
  // Both start from the imported weights with the same seed and data: the same first loss.
  const first = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl'))[0].loss;
  expect(first(run)).toBe(first(trained));
  // From here on it is an ordinary run: its checkpoints record the data, not the import.
  expect(readCheckpoint(run).state.options).toMatchObject({ steps: 2, data: { kind: 'mnist' } });
  expect(readCheckpoint(run).state.options).not.toHaveProperty('importedFrom');
});
