import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { defaultNormalization } from '../../artifacts/build';
import { readEncoderMetadata } from '../../artifacts/encoder-metadata';
import { readModelFile } from '../../artifacts/onnx-file';
import { parseDataArgument } from '../data-argument';
import { extractFeatures, FeaturePool, FeatureSet } from '../../runtime/eval/features';
import { knnClassify } from '../../runtime/eval/knn';
import { attentiveProbe, linearProbe } from '../../runtime/eval/probes';
import type { Samples } from '../../runtime/eval/probe-fit';
import type { EpChoice } from '../../runtime/execution-providers';
import { addEpOption, sessionFor, startEp } from '../execution-provider-option';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber } from '../options';
import { progressLine } from '../progress-line';
import { UserError } from '../run-command';

interface Flags {
  encoder: string;
  data: string;
  val: string;
  mode: 'linear' | 'attentive' | 'knn';
  pool: 'cls' | 'mean';
  epochs?: number;
  batch?: number;
  lr?: number;
  k: number;
  temperature: number;
  heads?: number;
  limit?: number;
  valLimit?: number;
  cache?: string;
  seed: number;
  out?: string;
  ep: EpChoice;
}

const samplesOf = (f: FeatureSet): Samples => ({
  data: f.features,
  labels: f.labels,
  count: f.count,
  perSample: f.tokensPerSample * f.dim,
});

export function registerProbe(program: Command): void {
  const command = program
    .command('probe')
    .description(
      'evaluate a frozen encoder.onnx: linear probe, attentive probe, or k-NN; prints top-1 and writes JSON',
    )
    .requiredOption('--encoder <file.onnx>', 'deployed encoder (cae-onnx export or build)')
    .requiredOption(
      '--data <train>',
      'training data: folder, IDX image file (labels beside it), or mnist:train',
    )
    .requiredOption('--val <val>', 'validation data, same forms')
    .option('--mode <mode>', 'linear, attentive or knn', oneOf('linear', 'attentive', 'knn'), 'linear')
    .option(
      '--pool <pool>',
      'linear/knn feature: cls token after the final norm, or mean of patch tokens',
      oneOf('cls', 'mean'),
      'cls',
    )
    .option('--epochs <n>', 'probe epochs (default 90 linear / 90 attentive, as the paper)', positiveInt)
    .option('--batch <n>', 'probe batch size (default 256)', positiveInt)
    .option(
      '--lr <lr>',
      'peak lr (default: linear 0.1 x batch/256, attentive 0.4 x batch/8192)',
      positiveNumber,
    )
    .option('--k <n>', 'k-NN neighbours', positiveInt, 20)
    .option('--temperature <t>', 'k-NN vote temperature', positiveNumber, 0.07)
    .option(
      '--heads <n>',
      'attentive probe heads (default: the largest of 12, 8, 6, 4, 2, 1 dividing the width)',
      positiveInt,
    )
    .option('--limit <n>', 'use the first N training images', positiveInt)
    .option('--val-limit <n>', 'use the first N validation images', positiveInt)
    .option('--cache <dir>', 'feature cache folder (default: .cae-features beside the encoder)')
    .option('--seed <n>', 'probe initialization and shuffling seed', nonNegativeInt, 0)
    .option('--out <file.json>', 'result JSON (default: <encoder>.<mode>.json)');
  addEpOption(command).action(async (flags: Flags) => {
    if (!fs.existsSync(flags.encoder)) throw new UserError(`no such encoder: ${flags.encoder}`);
    const meta = readEncoderMetadata(readModelFile(flags.encoder));
    const channels = Number(
      readModelFile(flags.encoder).graph?.input?.[0]?.type?.tensorType?.shape?.dim?.[1]?.dimValue ?? 3,
    );
    const norm = meta ?? defaultNormalization(channels);
    const pool: FeaturePool = flags.mode === 'attentive' ? 'tokens' : flags.pool;
    const cacheDir = flags.cache ?? path.join(path.dirname(path.resolve(flags.encoder)), '.cae-features');
    const say = (s: string) => process.stderr.write(`${s}\n`);
    const session = sessionFor(await startEp(flags.ep, say));
    const progress = progressLine();
    const extract = async (value: string, flag: string, limit?: number) => {
      const f = await extractFeatures({
        encoder: flags.encoder,
        source: parseDataArgument(value, flag),
        mean: [...norm.mean],
        std: [...norm.std],
        pool,
        limit,
        cacheDir,
        executionProviders: session.executionProviders,
        // Per batch: too many lines for a log, so shown on a terminal only.
        onProgress: (done, total) =>
          progress.interactive && progress.update(`features ${flag} ${done}/${total}`),
      });
      progress.end();
      if (f.skipped.length > 0) say(`${flag}: skipped ${f.skipped.length} unreadable images`);
      say(
        `${flag}: ${f.count} samples, ${f.tokensPerSample} x ${f.dim} features${f.fromCache ? ' (cached)' : ''}`,
      );
      return f;
    };
    const train = await extract(flags.data, '--data', flags.limit);
    const val = await extract(flags.val, '--val', flags.valLimit);
    const started = Date.now();
    let result: { accuracy: number } & Record<string, unknown>;
    if (flags.mode === 'knn') {
      const r = knnClassify(
        { features: train.features, labels: train.labels, dim: train.dim },
        { features: val.features, labels: val.labels, dim: val.dim },
        { k: flags.k, temperature: flags.temperature },
      );
      result = { accuracy: r.accuracy, k: flags.k, temperature: flags.temperature };
    } else {
      const options = {
        epochs: flags.epochs ?? 90,
        batchSize: flags.batch ?? 256,
        lr: flags.lr,
        seed: flags.seed,
        session,
        onEpoch: (e: number, loss: number) => progress.update(`epoch ${e}: loss ${loss.toFixed(4)}`),
      };
      const r =
        flags.mode === 'linear'
          ? await linearProbe(samplesOf(train), samplesOf(val), options)
          : await attentiveProbe(
              samplesOf(train),
              samplesOf(val),
              {
                tokens: train.tokensPerSample,
                dim: train.dim,
                heads: flags.heads ?? [12, 8, 6, 4, 2, 1].find((h) => train.dim % h === 0)!,
              },
              options,
            );
      progress.end();
      result = {
        accuracy: r.accuracy,
        trainAccuracy: r.trainAccuracy,
        lr: r.lr,
        epochs: options.epochs,
        batch: options.batchSize,
      };
    }
    const report = {
      mode: flags.mode,
      pool,
      encoder: path.resolve(flags.encoder),
      train: { data: flags.data, samples: train.count },
      val: { data: flags.val, samples: val.count },
      ...result,
      seconds: (Date.now() - started) / 1000,
    };
    const out = flags.out ?? `${flags.encoder.replace(/\.onnx$/, '')}.${flags.mode}.json`;
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${flags.mode} probe top-1: ${(100 * report.accuracy).toFixed(2)}% (${out})\n`);
  });
}
