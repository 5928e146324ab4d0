/**
 * `cae-onnx import-tokenizer`: a DALL-E-architecture encoder saved as OpenAI's encoder.pkl is (the
 * whole module pickled; tests/fixtures/pytorch/make_dall_e_fixture.py) becomes tokenizer.onnx whose
 * logits equal PyTorch's, and token targets train from it end to end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readManifest } from '../../src/artifacts/manifest';
import { tensorData } from '../../src/graph-builder/core/tensor-data';
import { ModelSession } from '../../src/runtime/session';
import { readMetrics } from '../../src/runtime/train/metrics-log';
import { cli } from '../helpers/cli';

jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '../fixtures/pytorch');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'dall-e-expected.json'), 'utf8')) as {
  image: number[];
  logits_shape: number[];
  logits: number[];
};
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-dall-e-'));
const tokenizer = path.join(root, 'tokenizer.onnx');

test("the pickled encoder becomes tokenizer.onnx with PyTorch's logits (1e-4)", async () => {
  const r = await cli(
    'import-tokenizer',
    path.join(FIXTURES, 'dall-e-encoder.pkl'),
    '--out',
    tokenizer,
    '--image-size',
    '56',
  );
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    /DALL-E encoder \(width 8, 2 blocks per group, 74 tensors\), image \[batch, 1, 56, 56\] -> logits \[batch, 16, 7, 7\]/,
  );
  const session = await ModelSession.create(tokenizer);
  const out = await session.run({
    image: tensorData('float32', [2, 1, 56, 56], Float32Array.from(expected.image)),
  });
  await session.release();
  expect(out.logits.shape).toEqual(expected.logits_shape);
  const scale = expected.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const worst = (out.logits.data as Float32Array).reduce(
    (m, v, i) => Math.max(m, Math.abs(v - expected.logits[i])),
    0,
  );
  expect(worst / scale).toBeLessThan(1e-4);
});

test('token targets train end to end from the imported tokenizer', async () => {
  const build = path.join(root, 'build');
  expect((await cli('build', '--tokenizer', tokenizer, '--batch', '4', '--out', build)).code).toBe(0);
  expect(readManifest(build).config).toMatchObject({ target: 'tokens', vocabSize: 16 });
  const run = path.join(root, 'run');
  const t = await cli('train', '--build', build, '--steps', '3', '--limit', '64', '--out', run);
  expect(t.code).toBe(0);
  const losses = readMetrics(path.join(run, 'metrics.jsonl')).map((m) => m.loss_rec);
  expect(losses).toHaveLength(3);
  for (const l of losses) expect(Number.isFinite(l)).toBe(true);
});

test('a file that is not a DALL-E encoder is a one-line error', async () => {
  const r = await cli(
    'import-tokenizer',
    path.join(FIXTURES, 'vit-timm.pt'),
    '--out',
    path.join(root, 'no.onnx'),
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /^cae-onnx: .*vit-timm\.pt: not a DALL-E encoder: blocks\.input\.w or blocks\.output\.conv\.w is missing\n$/,
  );
});
