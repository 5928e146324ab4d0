import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import type { LoaderOptions } from '../../runtime/data/loader';
import { reconstructFromSource, writeReconstructionGrid } from '../../runtime/eval/reconstruct';
import { readCheckpoint } from '../../runtime/train/checkpoint';
import type { EpChoice } from '../../runtime/execution-providers';
import { addEpOption, sessionFor, startEp } from '../execution-provider-option';
import { nonNegativeInt, positiveInt } from '../options';
import { UserError } from '../run-command';

interface Flags {
  checkpoint: string;
  out: string;
  data?: string;
  idx?: string;
  count: number;
  seed: number;
  ep: EpChoice;
}

function source(flags: Flags): LoaderOptions['source'] {
  if (flags.data) {
    if (!fs.existsSync(flags.data)) throw new UserError(`--data ${flags.data} does not exist`);
    return { kind: 'folder', dir: path.resolve(flags.data) };
  }
  if (flags.idx) {
    if (!fs.existsSync(flags.idx)) throw new UserError(`no such idx file: ${flags.idx}`);
    return { kind: 'idx', images: path.resolve(flags.idx) };
  }
  return { kind: 'mnist', split: 'test' };
}

export function registerReconstruct(program: Command): void {
  const command = program
    .command('reconstruct')
    .description(
      "the paper's reconstruction figure: original | masked input | masked patches reconstructed | all patches",
    )
    .requiredOption('--checkpoint <dir>', 'a checkpoint folder, or a run folder (its newest checkpoint)')
    .requiredOption('--out <grid.png>', 'output PNG')
    .option('--data <dir>', 'folder of images (default: MNIST test images)')
    .option('--idx <file>', 'IDX image file')
    .option('--count <n>', 'images (rows)', positiveInt, 8)
    .option('--seed <n>', 'seed for the choice of images and the masks', nonNegativeInt, 0);
  addEpOption(command).action(async (flags: Flags) => {
    let ckpt;
    try {
      ckpt = readCheckpoint(flags.checkpoint);
    } catch (e) {
      throw new UserError((e as Error).message);
    }
    const m = ckpt.manifest;
    if (m.config.target !== 'pixels') throw new UserError('reconstructions need a pixel-target model');
    const ep = await startEp(flags.ep, (s) => process.stderr.write(`${s}\n`));
    const r = await reconstructFromSource({
      manifest: m,
      params: ckpt.params,
      source: source(flags),
      count: flags.count,
      seed: flags.seed,
      session: sessionFor(ep),
    });
    await writeReconstructionGrid(r, m.config.inChans, m.config.imageSize, flags.out);
    process.stdout.write(
      `wrote ${flags.out}: ${flags.count} images from step ${ckpt.state.step}; pixel MSE on masked patches ${r.maskedMse.toFixed(4)}, ` +
        `full reconstruction ${r.fullMse.toFixed(4)}\n`,
    );
  });
}
