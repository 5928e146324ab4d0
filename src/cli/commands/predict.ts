import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { listImageFolder } from '../../runtime/data/image-folder';
import type { EpChoice } from '../../runtime/execution-providers';
import { predictFiles } from '../../runtime/finetune/predict';
import { addEpOption, sessionFor, startEp } from '../execution-provider-option';
import { positiveInt } from '../options';
import { UserError } from '../run-command';

/** Image files named on the command line; a folder stands for every image under it. */
function expandImages(args: readonly string[]): string[] {
  return args.flatMap((arg) => {
    if (!fs.existsSync(arg)) throw new UserError(`no such image or folder: ${arg}`);
    if (!fs.statSync(arg).isDirectory()) return [path.resolve(arg)];
    const { files } = listImageFolder(arg);
    if (files.length === 0) throw new UserError(`no images (.jpg, .jpeg, .png, .webp) under ${arg}`);
    return files;
  });
}

export function registerPredict(program: Command): void {
  const command = program
    .command('predict')
    .description('classify images with a classifier.onnx from cae-onnx finetune: top-k classes by name')
    .requiredOption(
      '--model <classifier.onnx>',
      'the classifier (cae-onnx finetune writes <run>/classifier.onnx)',
    )
    .option('--top <k>', 'classes shown per image', positiveInt, 3)
    .option('--json', 'one JSON object per image instead of text')
    .argument('<images...>', 'image files (JPEG/PNG/WebP) or folders');
  addEpOption(command).action(
    async (images: string[], flags: { model: string; top: number; json?: boolean; ep: EpChoice }) => {
      if (!fs.existsSync(flags.model)) throw new UserError(`no such model: ${flags.model}`);
      const files = expandImages(images);
      const ep = await startEp(flags.ep, (s) => process.stderr.write(`${s}\n`));
      const result = await predictFiles(flags.model, files, { top: flags.top, session: sessionFor(ep) });
      for (const p of result.predictions) {
        const line = flags.json
          ? JSON.stringify(p)
          : `${p.file}: ${p.top.map((g) => `${g.name} ${(100 * g.probability).toFixed(1)}%`).join(', ')}`;
        process.stdout.write(`${line}\n`);
      }
      for (const f of result.skipped) process.stderr.write(`cae-onnx: ${f}: could not be decoded\n`);
      if (result.predictions.length === 0) throw new UserError('none of the images could be decoded');
    },
  );
}
