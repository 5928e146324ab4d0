import * as fs from 'node:fs';
import { Command } from 'commander';
import { importDallEEncoder } from '../../artifacts/imports/dall-e';
import { FileFormatError } from '../../artifacts/file-format-error';
import { importWeights, ImportReport } from '../../runtime/import-weights';
import { listCheckpoints } from '../../runtime/train/checkpoint';
import { positiveInt } from '../options';
import { UserError } from '../run-command';

const LAYOUTS: Record<ImportReport['layout'], string> = {
  'cae-pretrain': 'official CAE pretraining checkpoint (encoder, regressor, decoder)',
  'cae-encoder': 'CAE encoder only (regressor and decoder newly initialized)',
  vit: 'plain ViT (timm / MAE / BEiT / CAE fine-tuned) as the CAE encoder',
  mmpretrain: 'mmpretrain / mmselfsup ViT backbone (backbone.layers.N) as the CAE encoder',
};

function formatReport(r: ImportReport, file: string, out: string): string {
  const c = r.manifest.config;
  const groups = new Map<string, number>();
  for (const i of r.ignored) groups.set(i.why, (groups.get(i.why) ?? 0) + 1);
  return [
    `${file}: ${LAYOUTS[r.layout]}`,
    `sizes: ${c.imageSize}x${c.imageSize}x${c.inChans}, patch ${c.patchSize}, encoder ${c.embedDim}d x ${c.depth} blocks, ${c.numHeads} heads` +
      ` (heads are not in the weights: --heads to change)`,
    `used ${r.imported} tensors; ${r.fresh.length} parameters newly initialized${r.fresh.length ? ` (e.g. ${r.fresh[0]})` : ''}`,
    ...[...groups].map(
      ([why, n]) => `ignored ${n}: ${why} (e.g. ${r.ignored.find((i) => i.why === why)!.name})`,
    ),
    ...r.notes.map((n) => `note: ${n}`),
    `wrote ${out}: build/ (train from these weights: cae-onnx train --build ${r.buildDir} --data ...) and ${r.checkpoint}`,
    `export the encoder: cae-onnx export --checkpoint ${out} --out encoder.onnx`,
  ].join('\n');
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import PyTorch (.pt/.pth) or safetensors weights: official CAE checkpoints and ViTs')
    .argument('<file>', 'weight file written by torch.save, or .safetensors')
    .requiredOption('--out <dir>', 'run folder to write (build/ and a checkpoint)')
    .option('--heads <n>', 'encoder attention heads (not stored in weights)', positiveInt)
    .option('--decoder-heads <n>', 'regressor/decoder attention heads', positiveInt)
    .option('--image-size <n>', 'input size when the file has no position table (default 224)', positiveInt)
    .option('--batch <n>', 'images per training step of the build', positiveInt)
    .option('--force', 'replace an existing run folder')
    .action(
      async (
        file: string,
        flags: {
          out: string;
          heads?: number;
          decoderHeads?: number;
          imageSize?: number;
          batch?: number;
          force?: boolean;
        },
      ) => {
        if (!fs.existsSync(file)) throw new UserError(`no such file: ${file}`);
        if (
          fs.existsSync(flags.out) &&
          (listCheckpoints(flags.out).length > 0 || fs.readdirSync(flags.out).length > 0)
        ) {
          if (!flags.force) throw new UserError(`${flags.out} is not empty: pass --force to replace it`);
          fs.rmSync(flags.out, { recursive: true, force: true });
        }
        let report: ImportReport;
        try {
          report = await importWeights({ file, outDir: flags.out, ...flags });
        } catch (e) {
          fs.rmSync(flags.out, { recursive: true, force: true });
          if (e instanceof FileFormatError)
            throw new UserError(`${file}: ${e.message.replace(`${file}: `, '')}`);
          throw e;
        }
        process.stdout.write(`${formatReport(report, file, flags.out)}\n`);
      },
    );
}

export function registerImportTokenizer(program: Command): void {
  program
    .command('import-tokenizer')
    .description("OpenAI's DALL-E d-VAE encoder (encoder.pkl) as tokenizer.onnx for build --tokenizer")
    .argument('<file>', 'encoder.pkl (a pickled dall_e Encoder; read without running it)')
    .requiredOption('--out <tokenizer.onnx>', 'the tokenizer model to write')
    .option(
      '--image-size <n>',
      'tokenizer input side: 8 x the CAE patch grid (112 for a 224 model)',
      positiveInt,
      112,
    )
    .action(async (file: string, flags: { out: string; imageSize: number }) => {
      if (!fs.existsSync(file)) throw new UserError(`no such file: ${file}`);
      try {
        const { spec, tensors } = await importDallEEncoder(file, flags.out, flags.imageSize);
        const grid = spec.imageSize / 8;
        process.stdout.write(
          `wrote ${flags.out}: DALL-E encoder (width ${spec.nHid}, ${spec.blocksPerGroup} blocks per group, ${tensors} tensors), ` +
            `image [batch, ${spec.inChans}, ${spec.imageSize}, ${spec.imageSize}] -> logits [batch, ${spec.vocabSize}, ${grid}, ${grid}]\n` +
            `use it with: cae-onnx build --tokenizer ${flags.out} (a ${grid}x${grid} patch grid)\n`,
        );
      } catch (e) {
        if (e instanceof FileFormatError)
          throw new UserError(`${file}: ${e.message.replace(`${file}: `, '')}`);
        throw e;
      }
    });
}
