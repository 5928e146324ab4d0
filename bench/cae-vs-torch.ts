/**
 * Our CAE eval_step loss and grad_step gradients against an independent PyTorch implementation of the
 * spec (bench/torch/cae_model.py) loaded strictly from our params.safetensors. Drop path off.
 * Needs Debian's python3-torch; never needed by the product or its tests.
 *
 *   npm run bench:build && node dist-bench/bench/cae-vs-torch.js [--python /usr/bin/python3] [--with-small]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initializeParams } from '../src/artifacts/initialize-params';
import { referenceStateDict } from '../src/artifacts/reference-state-dict';
import { writeSafetensors } from '../src/artifacts/safetensors';
import { CaeConfig, gridOf, resolveConfig } from '../src/graph-builder/cae/config';
import { caeParams, caePretrainModel, CAE_INPUTS } from '../src/graph-builder/cae/model';
import { tensorData, TensorData } from '../src/graph-builder/core/tensor-data';
import { toModelProto } from '../src/graph-builder/onnx/to-model-proto';
import { buildGradStep, gradOutputName } from '../src/graph-builder/training/step-graphs';
import { Rng } from '../src/random/rng';
import { torchConfig } from './torch-config';
import { makeMaskBatch } from '../src/runtime/masking';
import { ModelSession } from '../src/runtime/session';

async function compare(name: string, c: CaeConfig, python: string): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-vs-torch-'));
  const params = initializeParams(caeParams(c), 7);
  // Perturb the layer scales and zero-initialized tensors so every parameter matters to the check.
  const rng = new Rng(3);
  for (const [, t] of params) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] += 0.02 * rng.normal();
  }
  const { side } = gridOf(c);
  const masks = makeMaskBatch(rng, {
    batch: c.batch,
    grid: { height: side, width: side },
    numMasked: c.numMasked,
    kind: 'block',
  });
  const n = c.batch * c.inChans * c.imageSize * c.imageSize;
  const batch: Record<string, TensorData> = {
    [CAE_INPUTS.images]: tensorData(
      'float32',
      [c.batch, c.inChans, c.imageSize, c.imageSize],
      Float32Array.from({ length: n }, () => rng.normal()),
    ),
    [CAE_INPUTS.visibleIndex]: tensorData('int64', [c.batch, masks.numVisible], masks.visibleIndex),
    [CAE_INPUTS.maskedIndex]: tensorData('int64', [c.batch, masks.numMasked], masks.maskedIndex),
  };
  if (c.target === 'tokens') {
    batch[CAE_INPUTS.targetTokens] = tensorData(
      'int64',
      [c.batch, c.numMasked],
      BigInt64Array.from({ length: c.batch * c.numMasked }, () => BigInt(rng.int(0, c.vocabSize - 1))),
    );
  }
  const graph = buildGradStep(caePretrainModel(c));
  const session = await ModelSession.create(toModelProto(graph, { paramsAs: 'inputs' }));
  const out = await session.run({ ...batch, ...Object.fromEntries(params) });
  const ours = new Map<string, TensorData>(['loss', 'loss_rec', 'loss_align'].map((k) => [k, out[k]]));
  for (const p of graph.params)
    if (p.trainable) ours.set(gradOutputName(p.name), out[gradOutputName(p.name)]);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(torchConfig(c)));
  writeSafetensors(path.join(dir, 'params.safetensors'), referenceStateDict(c, params));
  writeSafetensors(path.join(dir, 'batch.safetensors'), Object.entries(batch));
  writeSafetensors(path.join(dir, 'ours.safetensors'), ours);
  const script = path.join(__dirname, '../../bench/torch/cae_reference.py');
  const result = JSON.parse(
    execFileSync(python, [script, dir], { encoding: 'utf8', maxBuffer: 1 << 26 }),
  ) as Record<string, unknown>;
  fs.rmSync(dir, { recursive: true });
  return { case: name, ...result };
}

async function main() {
  const argv = process.argv.slice(2);
  const python = argv.includes('--python') ? argv[argv.indexOf('--python') + 1] : '/usr/bin/python3';
  const cases: [string, CaeConfig][] = [
    ['tiny-28 pixels, norm-pix', resolveConfig('cae-tiny-28', { batch: 4 })],
    [
      'tiny-28 pixels raw, 64->96 projection',
      resolveConfig('cae-tiny-28', { batch: 4, decoderEmbedDim: 96, decoderNumHeads: 4, normPixLoss: false }),
    ],
    [
      'tiny-32 tokens (vocab 512)',
      resolveConfig('cae-tiny-32', { batch: 2, target: 'tokens', vocabSize: 512 }),
    ],
  ];
  if (argv.includes('--with-small'))
    cases.push(['cae-small pixels, batch 2', resolveConfig('cae-small', { batch: 2, dropPathRate: 0 })]);
  for (const [name, c] of cases) {
    const r = await compare(name, { ...c, dropPathRate: 0 }, python);
    const pick = (k: string) => r[k];
    console.log(
      JSON.stringify({
        case: name,
        strict_load: pick('strict_load'),
        loss_rel_err: (pick('loss') as { rel_err?: number } | undefined)?.rel_err ?? pick('loss_rel_err'),
        grad_max_rel_err: pick('grad_max_rel_err'),
        grad_worst: pick('grad_worst'),
        missing_in_ours: pick('missing_in_ours'),
        extra_in_ours: pick('extra_in_ours'),
      }),
    );
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
