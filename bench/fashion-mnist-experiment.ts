/**
 * A small version of the paper's evaluation on Fashion-MNIST (Debian `dataset-fashion-mnist`):
 * encoders (a) randomly initialized, (b) CAE-pretrained, (c) CAE without the alignment loss, and the
 * raw-pixel baseline, each with linear, attentive and k-NN probes. Pretraining is done beforehand
 * with the CLI (see README "Results"); this script probes and prints the table.
 *
 *   npm run bench:build && node dist-bench/bench/fashion-mnist-experiment.js \
 *     --random runs/fm-random/encoder.onnx --cae runs/fm-cae/encoder.onnx --noalign runs/fm-noalign/encoder.onnx \
 *     [--data /usr/share/datasets/fashion-mnist] [--attentive-train 20000] [--epochs 30] [--attentive-epochs 20]
 *     [--pool cls|mean] [--only 'CAE'] [--out fashion-mnist-results.json]
 *
 * `--pool` picks the learned encoders' linear and k-NN feature (cls token after the final norm, or the
 * mean of the patch tokens); the raw-pixel baseline always uses the whole image.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeModelFile } from '../src/artifacts/onnx-file';
import { Graph } from '../src/graph-builder/core/graph';
import * as op from '../src/graph-builder/ops';
import { toModelProto } from '../src/graph-builder/onnx/to-model-proto';
import { extractFeatures, FeaturePool, FeatureSet } from '../src/runtime/eval/features';
import { knnClassify } from '../src/runtime/eval/knn';
import type { Samples } from '../src/runtime/eval/probe-fit';
import { attentiveProbe, linearProbe } from '../src/runtime/eval/probes';

/** Raw pixels as an "encoder": tokens [batch, 1 + 49, 16] of 4x4 patches, token 0 their mean. */
function pixelPatchEncoder(file: string): void {
  const g = new Graph('pixels');
  const x = g.input('images', 'float32', ['batch', 1, 28, 28]);
  const six = op.reshape(x, ['batch', 1, 7, 4, 7, 4]);
  const patches = op.reshape(op.transpose(six, [0, 2, 4, 3, 5, 1]), ['batch', 49, 16]);
  g.output('tokens', op.concat([op.reduceMean(patches, [1], { keepdims: true }), patches], 1));
  writeModelFile(file, toModelProto(g, { paramsAs: 'inputs' }));
}

/** Raw pixels flattened: tokens [batch, 2, 784]; the cls "token" (token 0) is the whole image. */
function pixelFlatEncoder(file: string): void {
  const g = new Graph('pixels_flat');
  const x = op.reshape(g.input('images', 'float32', ['batch', 1, 28, 28]), ['batch', 1, 784]);
  g.output('tokens', op.concat([x, x], 1));
  writeModelFile(file, toModelProto(g, { paramsAs: 'inputs' }));
}

const samples = (f: FeatureSet, limit = f.count): Samples => ({
  data: f.features.subarray(0, limit * f.tokensPerSample * f.dim),
  labels: f.labels.subarray(0, limit),
  count: limit,
  perSample: f.tokensPerSample * f.dim,
});

async function main() {
  const argv = process.argv.slice(2);
  const arg = (f: string, d?: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
  const dataDir = arg('--data', '/usr/share/datasets/fashion-mnist')!;
  const epochs = Number(arg('--epochs', '30'));
  const attentiveEpochs = Number(arg('--attentive-epochs', '20'));
  const attentiveTrain = Number(arg('--attentive-train', '20000'));
  const pool = arg('--pool', 'cls') as FeaturePool;
  if (pool !== 'cls' && pool !== 'mean') throw new Error(`--pool must be cls or mean, got '${pool}'`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-exp-'));
  const pixelsFlat = path.join(tmp, 'pixels-flat.onnx');
  const pixelsPatches = path.join(tmp, 'pixels-patches.onnx');
  pixelFlatEncoder(pixelsFlat);
  pixelPatchEncoder(pixelsPatches);
  const only = arg('--only');
  // [name, encoder for linear and k-NN, its pooling, encoder for the attentive probe's tokens]
  type Entry<F> = [name: string, flat: F, flatPool: FeaturePool, tokens: F];
  const all: Entry<string | undefined>[] = [
    ['random init', arg('--random'), pool, arg('--random')],
    ['CAE', arg('--cae'), pool, arg('--cae')],
    ['CAE, lambda 0', arg('--noalign'), pool, arg('--noalign')],
    ['raw pixels', pixelsFlat, 'cls', pixelsPatches],
  ];
  // Encoders not given are left out of the table (the raw pixels are always there).
  const given = all.filter((e): e is Entry<string> => e[1] !== undefined && e[3] !== undefined);
  const encoders = only ? given.filter(([n]) => n === only) : given;
  const train = {
    kind: 'idx' as const,
    images: path.join(dataDir, 'train-images-idx3-ubyte.gz'),
    labels: path.join(dataDir, 'train-labels-idx1-ubyte.gz'),
  };
  const test = {
    kind: 'idx' as const,
    images: path.join(dataDir, 't10k-images-idx3-ubyte.gz'),
    labels: path.join(dataDir, 't10k-labels-idx1-ubyte.gz'),
  };
  const cacheDir = path.join(os.tmpdir(), 'cae-onnx-fm-features');
  const features = (encoder: string, source: typeof train, pool: FeaturePool) =>
    extractFeatures({ encoder, source, mean: [0.5], std: [0.5], pool, cacheDir });
  const rows: Record<string, unknown>[] = [];
  for (const [name, flat, flatPool, tokens] of encoders) {
    if (!fs.existsSync(flat)) throw new Error(`no encoder file for '${name}': ${flat}`);
    const started = Date.now();
    const trainFlat = await features(flat, train, flatPool);
    const testFlat = await features(flat, test, flatPool);
    const knn = (
      await knnClassify(
        { features: trainFlat.features, labels: trainFlat.labels, dim: trainFlat.dim },
        { features: testFlat.features, labels: testFlat.labels, dim: testFlat.dim },
      )
    ).accuracy;
    const linear = (
      await linearProbe(samples(trainFlat), samples(testFlat), { epochs, batchSize: 256, seed: 0 })
    ).accuracy;
    const trainTok = await features(tokens, train, 'tokens');
    const testTok = await features(tokens, test, 'tokens');
    const heads = [8, 4, 2, 1].find((h) => trainTok.dim % h === 0)!;
    const attentive = (
      await attentiveProbe(
        samples(trainTok, attentiveTrain),
        samples(testTok),
        { tokens: trainTok.tokensPerSample, dim: trainTok.dim, heads },
        {
          epochs: attentiveEpochs,
          batchSize: 256,
          lr: 0.05,
          seed: 0,
        },
      )
    ).accuracy;
    const row = {
      encoder: name,
      pool: flatPool,
      linear,
      attentive,
      knn,
      seconds: (Date.now() - started) / 1000,
    };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  const pct = (v: unknown) => `${(100 * (v as number)).toFixed(1)}`;
  console.log(`| encoder | linear | attentive | k-NN (k=20) |\n|---|---|---|---|`);
  for (const r of rows)
    console.log(`| ${r.encoder} | ${pct(r.linear)} | ${pct(r.attentive)} | ${pct(r.knn)} |`);
  fs.writeFileSync(
    arg('--out', 'fashion-mnist-results.json')!,
    JSON.stringify({ epochs, attentiveEpochs, attentiveTrain, pool, rows }, null, 2),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
