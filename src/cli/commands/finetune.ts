import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { buildFinetuneArtifacts } from '../../artifacts/finetune-build';
import { ADAMW_DEFAULTS } from '../../graph-builder/optim/adamw';
import { defaultAugment } from '../../runtime/data/augment-defaults';
import { datasetLabels } from '../../runtime/data/dataset-labels';
import { MIXUP_DEFAULTS } from '../../runtime/data/mixup';
import { RANDOM_ERASING_DEFAULTS } from '../../runtime/data/random-erasing';
import type { LoaderSource } from '../../runtime/data/types';
import type { EpChoice, ResolvedEp } from '../../runtime/execution-providers';
import { CLASSIFIER_FILE, exportClassifier } from '../../runtime/finetune/export-classifier';
import { finetuneSource } from '../../runtime/finetune/finetune-source';
import { DEFAULT_OPSET_FOR_EP } from '../../runtime/placement/default-opset';
import {
  Checkpoint,
  listCheckpoints,
  readCheckpoint,
  readTrainState,
  runOfCheckpoint,
} from '../../runtime/train/checkpoint';
import { appendEvaluation } from '../../runtime/report/evaluations';
import { describeData, isTrainingCheckpoint } from '../../runtime/report/run-summary';
import { writeRunReport } from '../../runtime/report/write-run-report';
import { finetuningLayerDecay, finetuningLr, WARMUP_FRACTION } from '../../runtime/train/recipe';
import { METRICS_FILE, readMetrics, StepMetrics } from '../../runtime/train/metrics-log';
import type { RunOptions } from '../../runtime/train/trainer';
import { parseDataArgument } from '../data-argument';
import { addDistributedOption, onEveryRank, startGroup } from '../distributed-option';
import { addEpOption, sessionFor, startEp } from '../execution-provider-option';
import type { ProcessGroup } from '../../runtime/distributed/process-group';
import {
  nonNegativeInt,
  nonNegativeNumber,
  numberIn,
  positiveInt,
  positiveNumber,
  scaleRange,
} from '../options';
import { claimRunFolder, CreatedFolder, removingUnfinishedRun } from '../run-folder';
import { UserError } from '../run-command';
import { runTrainingCommand } from '../train-command-run';

interface FinetuneFlags {
  from?: string;
  preset?: string;
  data?: string;
  val?: string;
  classNames?: string;
  out?: string;
  resume?: string;
  force?: boolean;
  epochs: number;
  batch?: number;
  accumulate: number;
  lr?: number;
  minLr: number;
  warmupEpochs?: number;
  layerDecay?: number;
  weightDecay: number;
  dropPath: number;
  smoothing: number;
  mixup: number;
  cutmix: number;
  mixupProb: number;
  mixupSwitchProb: number;
  reprob: number;
  cropScale?: [number, number];
  flip?: boolean;
  augment: boolean;
  seed: number;
  checkpointEvery?: number;
  logEvery: number;
  threads?: number;
  workers?: number;
  limit?: number;
  valLimit?: number;
  opset?: number;
  ep: EpChoice;
  distributed?: 'mpi';
}

/** Class names: --class-names (a comma list or a file with one per line), else the data's, else the ids. */
function classNamesFor(
  flag: string | undefined,
  fromData: readonly string[] | undefined,
  labels: Int32Array,
) {
  const classes = labels.reduce((m, l) => Math.max(m, l), -1) + 1;
  if (flag !== undefined) {
    const names = fs.existsSync(flag)
      ? fs
          .readFileSync(flag, 'utf8')
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter((l) => l !== '')
      : flag.split(',').map((n) => n.trim());
    if (names.length < classes)
      throw new UserError(`--class-names names ${names.length} classes; the labels go up to ${classes - 1}`);
    return names;
  }
  return fromData ? [...fromData] : Array.from({ length: classes }, (_, i) => String(i));
}

function labelsOf(source: LoaderSource, flag: string, limit?: number) {
  try {
    return datasetLabels(source, limit);
  } catch (e) {
    throw new UserError(`${flag}: ${(e as Error).message}`);
  }
}

/** Makes the fine-tuning build and the run's options for a new run. */
/** Makes the fine-tuning build (rank 0 alone; the others wait) and the run's options for a new run. */
function newRun(
  flags: FinetuneFlags,
  runDir: string,
  ep: ResolvedEp,
  say: (s: string) => void,
  group: ProcessGroup,
): RunOptions {
  if (!flags.data || !flags.val) throw new UserError('a new fine-tuning run needs --data and --val');
  if (!flags.from && !flags.preset)
    throw new UserError('give --from (a pretrained run) or --preset (random init)');
  const data = parseDataArgument(flags.data, '--data');
  const val = parseDataArgument(flags.val, '--val');
  const train = labelsOf(data, '--data', flags.limit);
  const valLabels = labelsOf(val, '--val', flags.valLimit);
  const classNames = classNamesFor(flags.classNames, train.classNames, train.labels);
  if (
    train.classNames &&
    valLabels.classNames &&
    train.classNames.join('/') !== valLabels.classNames.join('/')
  ) {
    throw new UserError(
      `--val has classes ${valLabels.classNames.join(', ')}; --data has ${train.classNames.join(', ')}`,
    );
  }
  const source = finetuneSource(flags.from, flags.preset);
  const config = {
    ...source.config,
    batch: flags.batch ?? source.config.batch,
    dropPathRate: flags.dropPath,
    precision: 'fp32' as const,
  };
  const batchesPerEpoch = Math.floor(train.labels.length / config.batch);
  // --accumulate is per rank; the run records the update's micro-batches over all ranks.
  const accumulate = flags.accumulate * group.size;
  const stepsPerEpoch = Math.floor(batchesPerEpoch / accumulate);
  if (stepsPerEpoch < 1) {
    throw new UserError(
      `--data has ${train.labels.length} images: not one update of ${config.batch} x ${accumulate}`,
    );
  }
  const steps = flags.epochs * stepsPerEpoch;
  const layerDecay = flags.layerDecay ?? finetuningLayerDecay(config.preset);
  say(
    `fine-tuning ${config.preset} from ${source.description}: ${classNames.length} classes, ` +
      `${flags.epochs} epochs of ${stepsPerEpoch} updates (batch ${config.batch * accumulate}), layer decay ${layerDecay}`,
  );
  const buildDir = path.join(runDir, 'build');
  if (group.rank === 0)
    buildFinetuneArtifacts({
      outDir: buildDir,
      config,
      classNames,
      layerDecay,
      optimizer: { ...ADAMW_DEFAULTS, weightDecay: flags.weightDecay },
      normalization: source.normalization,
      seed: flags.seed,
      encoder: source.encoder,
      initializedFrom: source.description,
      opset: flags.opset ?? DEFAULT_OPSET_FOR_EP[ep.name],
    });
  group.barrier();
  const warmupEpochs = flags.warmupEpochs ?? WARMUP_FRACTION * flags.epochs;
  return {
    buildDir: path.resolve(buildDir),
    data,
    steps,
    schedule: {
      baseLr: flags.lr ?? finetuningLr(config.preset, config.batch * accumulate),
      minLr: flags.minLr,
      warmupSteps: Math.round(warmupEpochs * stepsPerEpoch),
      totalSteps: steps,
    },
    seed: flags.seed,
    accumulate,
    augment: flags.augment
      ? defaultAugment(config.preset, data.kind, { scale: flags.cropScale, flip: flags.flip })
      : false,
    alignmentDropPath: false,
    limit: flags.limit,
    checkpointEvery: flags.checkpointEvery ?? stepsPerEpoch,
    threads: flags.threads,
    finetune: {
      val,
      valLimit: flags.valLimit,
      evalEvery: stepsPerEpoch,
      mixup: {
        mixupAlpha: flags.mixup,
        cutmixAlpha: flags.cutmix,
        prob: flags.mixupProb,
        switchProb: flags.mixupSwitchProb,
        labelSmoothing: flags.smoothing,
      },
      erase: flags.reprob > 0 ? { ...RANDOM_ERASING_DEFAULTS, prob: flags.reprob } : false,
    },
  };
}

async function run(flags: FinetuneFlags): Promise<void> {
  const group = startGroup(flags.distributed);
  await onEveryRank(group, () => removingUnfinishedRun((created) => finetune(flags, group, created)));
}

async function finetune(flags: FinetuneFlags, group: ProcessGroup, created: CreatedFolder): Promise<void> {
  // Rank 0 speaks and writes for a data-parallel run; the other ranks follow.
  const leader = group.rank === 0;
  const say = leader ? (line: string) => process.stderr.write(`${line}\n`) : () => undefined;
  const ep = await startEp(flags.ep, say);
  let runDir: string;
  let runOptions: RunOptions | undefined;
  if (flags.resume) {
    if (listCheckpoints(flags.resume).length === 0)
      throw new UserError(`--resume ${flags.resume}: no checkpoint there to resume from`);
    runDir = flags.resume;
    say(`resuming ${runDir} from ${path.basename(listCheckpoints(runDir).at(-1)!)}`);
  } else {
    runDir =
      flags.out ??
      path.join('runs', `${path.basename(path.resolve(flags.from ?? flags.preset ?? 'model'))}-finetune`);
    if (leader && claimRunFolder(runDir, flags.force)) created.dir = runDir;
    runOptions = newRun(flags, runDir, ep, say, group);
  }
  const result = await runTrainingCommand('finetune', {
    runDir,
    run: runOptions,
    resume: !!flags.resume,
    ep,
    workers: flags.workers,
    logEvery: flags.logEvery,
    say,
    group,
  });
  if (!leader) return;
  const ckpt = readCheckpoint<RunOptions>(runDir);
  const file = path.join(runDir, CLASSIFIER_FILE);
  const report = await exportClassifier(
    ckpt.manifest,
    ckpt.params,
    file,
    ckpt.manifest.opset ?? DEFAULT_OPSET_FOR_EP[ep.name],
    sessionFor(ep),
  );
  const last = readMetrics(path.join(runDir, METRICS_FILE))
    .filter((m) => typeof m.val_top1 === 'number')
    .at(-1);
  process.stdout.write(
    `${last ? `validation top-1 ${(100 * (last.val_top1 as number)).toFixed(2)}% after ${result.lastStep} steps; ` : ''}` +
      `wrote ${path.resolve(file)} (${report.classes} classes; matches the training graph to ${report.maxAbsDiff.toExponential(1)}). ` +
      `Try: cae-onnx predict --model ${file} IMAGE...\n`,
  );
  if (last) await recordInSourceRun(ckpt, runDir, last, say);
}

/**
 * A fine-tuning run that started from a pretraining run's checkpoint adds its validation top-1 to
 * that run's evaluations and report.
 */
async function recordInSourceRun(
  ckpt: Checkpoint<RunOptions>,
  runDir: string,
  last: StepMetrics,
  say: (line: string) => void,
): Promise<void> {
  const from = ckpt.manifest.task?.initializedFrom;
  const val = ckpt.state.options.finetune?.val;
  // Only a training run's checkpoint: an import folder or a build has no report to add to.
  const source = from && isTrainingCheckpoint(from) ? runOfCheckpoint(from) : undefined;
  if (!from || !source || !val) return;
  appendEvaluation(source, {
    kind: 'finetune',
    time: new Date().toISOString(),
    step: readTrainState(from).step,
    run: path.resolve(runDir),
    epochs: last.epoch + 1,
    accuracy: last.val_top1 as number,
    val: describeData(val),
  });
  const page = await writeRunReport(source);
  if (page) say(`recorded in ${page}`);
}

export function registerFinetune(program: Command): void {
  const command = program
    .command('finetune')
    .description(
      "fine-tune a pretrained encoder as a classifier (the reference's recipe) and export classifier.onnx",
    )
    .option('--from <dir>', 'pretraining run, checkpoint, import folder, or build folder (its random init)')
    .option('--preset <name>', 'start from a randomly initialized preset instead of --from')
    .option(
      '--data <train>',
      'labeled training data: folder with class subfolders, IDX images (labels beside), mnist:train',
    )
    .option('--val <val>', 'validation data, same forms (e.g. mnist:test)')
    .option(
      '--class-names <names>',
      'comma-separated names, or a file with one per line (default: the folders, or ids)',
    )
    .option('--out <dir>', 'run folder (default runs/<source>-finetune)')
    .option('--resume <run>', 'continue a fine-tuning run from its newest checkpoint, exactly')
    .option('--force', 'start over in an existing run folder')
    .option('--epochs <n>', 'epochs (the reference: 100)', positiveInt, 100)
    .option('--batch <n>', 'images per micro-batch (default: the pretraining batch)', positiveInt)
    .option('--accumulate <n>', 'micro-batches per update', positiveInt, 1)
    .option(
      '--lr <lr>',
      'peak lr (default 8e-3 x batch/4096 as the reference; 2e-3 for cae-tiny-*)',
      positiveNumber,
    )
    .option('--min-lr <lr>', 'final lr of the cosine schedule', nonNegativeNumber, 1e-6)
    .option(
      '--warmup-epochs <n>',
      'linear warmup (default 5% of --epochs, as the reference: 5 of 100)',
      nonNegativeNumber,
    )
    .option(
      '--layer-decay <d>',
      'layer-wise lr decay (default 0.65; 0.75 for large; 1 = off)',
      numberIn(0, 1, { openMin: true }),
    )
    .option(
      '--weight-decay <wd>',
      'AdamW weight decay (not on norms, biases, tokens, positions)',
      nonNegativeNumber,
      0.05,
    )
    .option('--drop-path <rate>', 'stochastic depth rate', numberIn(0, 1, { openMax: true }), 0.1)
    .option(
      '--smoothing <s>',
      'label smoothing',
      numberIn(0, 1, { openMax: true }),
      MIXUP_DEFAULTS.labelSmoothing,
    )
    .option('--mixup <alpha>', 'mixup alpha (0 = off)', nonNegativeNumber, MIXUP_DEFAULTS.mixupAlpha)
    .option('--cutmix <alpha>', 'cutmix alpha (0 = off)', nonNegativeNumber, MIXUP_DEFAULTS.cutmixAlpha)
    .option('--mixup-prob <p>', 'probability of mixing a batch', numberIn(0, 1), MIXUP_DEFAULTS.prob)
    .option(
      '--mixup-switch-prob <p>',
      'probability of cutmix rather than mixup',
      numberIn(0, 1),
      MIXUP_DEFAULTS.switchProb,
    )
    .option('--reprob <p>', 'random erasing probability', numberIn(0, 1), RANDOM_ERASING_DEFAULTS.prob)
    .option(
      '--crop-scale <lo,hi>',
      'RandomResizedCrop scale range (default 0.08,1; 0.35,1 for cae-tiny-*)',
      scaleRange,
    )
    .option('--flip', 'random horizontal flips (default on for image folders, off for IDX digits)')
    .option('--no-flip', 'no horizontal flips')
    .option('--no-augment', 'no random crops or flips')
    .option('--seed <n>', 'seed for the head, data order, augmentation, mixup, drop path', nonNegativeInt, 0)
    .option('--checkpoint-every <n>', 'updates between checkpoints (default: one epoch)', positiveInt)
    .option('--log-every <n>', 'updates between status lines', positiveInt, 10)
    .option('--threads <n>', 'ORT intra-op threads (default: all cores)', positiveInt)
    .option('--workers <n>', 'data-loading worker threads', nonNegativeInt)
    .option('--limit <n>', 'use the first N training images', positiveInt)
    .option('--val-limit <n>', 'use the first N validation images', positiveInt)
    .option('--opset <n>', 'ONNX opset of the graphs (default: the one --ep has kernels for)', positiveInt);
  addDistributedOption(addEpOption(command)).action(run);
}
