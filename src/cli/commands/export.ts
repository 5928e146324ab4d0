import * as path from 'node:path';
import { Command } from 'commander';
import { readCheckpoint, runOfCheckpoint } from '../../runtime/train/checkpoint';
import { exportEncoder } from '../../runtime/export-encoder';
import { isTrainingCheckpoint } from '../../runtime/report/run-summary';
import { exportClassifier } from '../../runtime/finetune/export-classifier';
import type { EpChoice } from '../../runtime/execution-providers';
import { DEFAULT_OPSET_FOR_EP } from '../../runtime/placement/default-opset';
import { addEpOption, sessionFor, startEp } from '../execution-provider-option';
import { positiveInt } from '../options';
import { UserError } from '../run-command';

export function registerExport(program: Command): void {
  const command = program
    .command('export')
    .description(
      'write the deployment encoder.onnx (or, for a fine-tuning run, classifier.onnx) with trained weights, verified against the training graph',
    )
    .requiredOption('--checkpoint <dir>', 'a checkpoint folder, or a run folder (its newest checkpoint)')
    .requiredOption('--out <file.onnx>', 'output model (weights over 1 GiB go to <file>.data)')
    .option(
      '--opset <n>',
      'ONNX opset, 18-21 (default: the one --ep has kernels for; 21 for cpu)',
      positiveInt,
    );
  addEpOption(command).action(
    async (flags: { checkpoint: string; out: string; opset?: number; ep: EpChoice }) => {
      let ckpt;
      try {
        ckpt = readCheckpoint(flags.checkpoint);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      let report;
      try {
        const ep = await startEp(flags.ep, (s) => process.stderr.write(`${s}\n`));
        const opset = flags.opset ?? DEFAULT_OPSET_FOR_EP[ep.name];
        if (ckpt.manifest.task) {
          const r = await exportClassifier(ckpt.manifest, ckpt.params, flags.out, opset, sessionFor(ep));
          const c = ckpt.manifest.config;
          process.stdout.write(
            `wrote ${path.resolve(r.file)} (opset ${r.opset}, step ${ckpt.state.step}): images [batch, ${c.inChans}, ${c.imageSize}, ${c.imageSize}] ` +
              `-> logits [batch, ${r.classes}]; matches the training graph to ${r.maxAbsDiff.toExponential(1)}\n`,
          );
          return;
        }
        // Probes of the encoder are recorded in the training run it came from (not in an import folder).
        const run = isTrainingCheckpoint(ckpt.dir) ? runOfCheckpoint(ckpt.dir) : undefined;
        report = await exportEncoder(
          ckpt.manifest,
          ckpt.params,
          flags.out,
          opset,
          sessionFor(ep),
          run ? { run, step: ckpt.state.step } : undefined,
        );
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      process.stdout.write(
        `wrote ${path.resolve(report.file)} (opset ${report.opset}, step ${ckpt.state.step}): images [batch, ${ckpt.manifest.config.inChans}, ` +
          `${ckpt.manifest.config.imageSize}, ${ckpt.manifest.config.imageSize}] -> tokens [batch, ${report.tokensShape.slice(1).join(', ')}]; ` +
          `matches the training encoder to ${report.maxAbsDiff.toExponential(1)}\n`,
      );
    },
  );
}
