import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { defaultNormalization } from '../../artifacts/build';
import { readEncoderMetadata } from '../../artifacts/encoder-metadata';
import { readModelFile } from '../../artifacts/onnx-file';
import { parseDataArgument } from '../data-argument';
import { extractFeatures, FeaturePool } from '../../runtime/eval/features';
import { pixelBaseline } from '../../runtime/eval/pixel-baseline';
import { ProbeProtocol, runProbe } from '../../runtime/eval/probe-protocol';
import { appendEvaluation } from '../../runtime/report/evaluations';
import { writeRunReport } from '../../runtime/report/write-run-report';
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
  baseline: boolean;
  out?: string;
  ep: EpChoice;
}

/** A patch size for encoders that do not record theirs (not made by cae-onnx). */
const guessPatchSize = (size: number): number => [16, 14, 8, 4, 2].find((p) => size % p === 0) ?? 1;

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
    .option('--no-baseline', 'skip the raw-pixel baseline (computed once per data and protocol, then cached)')
    .option('--out <file.json>', 'result JSON (default: <encoder>.<mode>.json)');
  addEpOption(command).action(async (flags: Flags) => {
    if (!fs.existsSync(flags.encoder)) throw new UserError(`no such encoder: ${flags.encoder}`);
    const model = readModelFile(flags.encoder);
    const meta = readEncoderMetadata(model);
    const dims = model.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
    const channels = Number(dims[1]?.dimValue ?? 3);
    const size = Number(dims[2]?.dimValue ?? 0);
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
    const protocol: ProbeProtocol = {
      mode: flags.mode,
      k: flags.k,
      temperature: flags.temperature,
      epochs: flags.epochs,
      batch: flags.batch,
      lr: flags.lr,
      seed: flags.seed,
      heads: flags.heads,
    };
    const result = await runProbe(train, val, protocol, {
      session,
      onEpoch: (e, loss) => progress.update(`epoch ${e}: loss ${loss.toFixed(4)}`),
    });
    progress.end();
    const seconds = (Date.now() - started) / 1000;
    // Encoders with a dynamic image size have no one pixel grid to compare with.
    const baseline =
      flags.baseline && size > 0
        ? await pixelBaseline({
            train: parseDataArgument(flags.data, '--data'),
            val: parseDataArgument(flags.val, '--val'),
            limit: flags.limit,
            valLimit: flags.valLimit,
            protocol,
            geometry: { channels, size, patchSize: meta?.patchSize ?? guessPatchSize(size) },
            mean: [...norm.mean],
            std: [...norm.std],
            session,
            onProgress: (line) => progress.update(line),
          })
        : undefined;
    progress.end();
    const report = {
      mode: flags.mode,
      pool,
      encoder: path.resolve(flags.encoder),
      train: { data: flags.data, samples: train.count },
      val: { data: flags.val, samples: val.count },
      accuracy: result.accuracy,
      ...result.details,
      ...(baseline ? { rawPixels: { accuracy: baseline.accuracy, poolFactor: baseline.poolFactor } } : {}),
      seconds,
    };
    const out = flags.out ?? `${flags.encoder.replace(/\.onnx$/, '')}.${flags.mode}.json`;
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    const percent = (a: number) => `${(100 * a).toFixed(2)}%`;
    const pixels = baseline
      ? `; raw pixels${baseline.poolFactor > 1 ? ` (${baseline.poolFactor}x${baseline.poolFactor} average-pooled)` : ''}, same protocol: ${percent(baseline.accuracy)}${baseline.fromCache ? ' (cached)' : ''}`
      : '';
    process.stdout.write(`${flags.mode} probe top-1: ${percent(report.accuracy)}${pixels} (${out})\n`);
    const trainedIn = meta?.trainedIn;
    if (trainedIn && fs.existsSync(trainedIn.run)) {
      appendEvaluation(trainedIn.run, {
        kind: 'probe',
        time: new Date().toISOString(),
        step: trainedIn.step,
        mode: flags.mode,
        pool,
        data: flags.data,
        val: flags.val,
        accuracy: report.accuracy,
        ...(baseline ? { baseline: baseline.accuracy } : {}),
        encoder: path.resolve(flags.encoder),
      });
      const page = await writeRunReport(trainedIn.run);
      if (page) say(`recorded in ${page}`);
    }
  });
}
