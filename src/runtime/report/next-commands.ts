import * as path from 'node:path';
import type { Manifest } from '../../artifacts/manifest';
import type { LoaderOptions } from '../data/loader';
import { CLASSIFIER_FILE } from '../finetune/export-classifier';

/** The probe's data arguments for a run's data: MNIST's own splits, or placeholders to fill in. */
function probeData(source: LoaderOptions['source']): string {
  return source.kind === 'mnist'
    ? '--data mnist:train --val mnist:test'
    : '--data TRAIN_IMAGES --val VAL_IMAGES';
}

/** What to run after a run (or to continue it): printed by train and finetune, listed in report.html. */
export function nextCommands(
  runDir: string,
  manifest: Manifest,
  run: { readonly data: LoaderOptions['source']; readonly finished: boolean },
): string[] {
  const commands = manifest.task
    ? [
        `cae-onnx export --checkpoint ${runDir} --out ${path.join(runDir, CLASSIFIER_FILE)}`,
        `cae-onnx predict --model ${path.join(runDir, CLASSIFIER_FILE)} IMAGES`,
      ]
    : [
        `cae-onnx export --checkpoint ${runDir} --out ${path.join(runDir, 'encoder.onnx')}`,
        `cae-onnx probe --encoder ${path.join(runDir, 'encoder.onnx')} --mode knn ${probeData(run.data)}`,
        `cae-onnx finetune --from ${runDir} ${probeData(run.data)}`,
      ];
  if (!run.finished) commands.unshift(`cae-onnx ${manifest.task ? 'finetune' : 'train'} --resume ${runDir}`);
  return commands;
}
