import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultNormalization, PARAMS_FILE } from '../../artifacts/build';
import { FileFormatError } from '../../artifacts/file-format-error';
import { Manifest, MANIFEST_FILE, readManifest } from '../../artifacts/manifest';
import { readSafetensors } from '../../artifacts/safetensors';
import { CaeConfig, resolveConfig } from '../../graph-builder/cae/config';
import type { TensorData } from '../../graph-builder/core/tensor-data';
import { listCheckpoints, readCheckpoint } from '../train/checkpoint';

/** Where a fine-tuning run's encoder comes from. */
export interface FinetuneSource {
  readonly config: CaeConfig;
  readonly normalization: Manifest['normalization'];
  /** `encoder.*` weights (and `encoder.norm.*` for fc_norm); absent: random initialization. */
  readonly encoder?: ReadonlyMap<string, TensorData>;
  /** For the manifest and the log: the checkpoint, the build, or 'random'. */
  readonly description: string;
}

const encoderOnly = (params: ReadonlyMap<string, TensorData>) =>
  new Map([...params].filter(([name]) => name.startsWith('encoder.')));

function refuseFinetuned(manifest: Manifest, dir: string): void {
  if (manifest.task) {
    throw new FileFormatError(
      `${dir} is a fine-tuning run; continue it with cae-onnx finetune --resume, or fine-tune from its pretraining run`,
    );
  }
}

/**
 * The encoder to fine-tune: a pretraining run (its newest checkpoint), a checkpoint folder, a folder
 * made by `cae-onnx import`, or a build folder (its initial, random weights); or, with no folder, a
 * preset initialized from `seed` inside the fine-tuning build.
 */
export function finetuneSource(from: string | undefined, preset: string | undefined): FinetuneSource {
  if (from === undefined) {
    if (!preset)
      throw new Error('give a pretrained encoder (--from) or a preset to start from random weights');
    const config = resolveConfig(preset, {});
    return { config, normalization: defaultNormalization(config.inChans), description: 'random' };
  }
  if (!fs.existsSync(from)) throw new FileFormatError(`--from ${from} does not exist`);
  const isCheckpoint = fs.existsSync(path.join(from, 'state.json')) || listCheckpoints(from).length > 0;
  if (isCheckpoint) {
    const ckpt = readCheckpoint(from);
    refuseFinetuned(ckpt.manifest, from);
    return {
      config: ckpt.manifest.config,
      normalization: ckpt.manifest.normalization,
      encoder: encoderOnly(ckpt.params),
      description: path.resolve(ckpt.dir),
    };
  }
  if (fs.existsSync(path.join(from, MANIFEST_FILE))) {
    const manifest = readManifest(from);
    refuseFinetuned(manifest, from);
    const names = new Set(manifest.params.map((p) => p.name));
    const params = readSafetensors(path.join(from, PARAMS_FILE), { names: (n) => names.has(n) }).tensors;
    return {
      config: manifest.config,
      normalization: manifest.normalization,
      encoder: encoderOnly(params),
      description: `random (the initial weights of build ${path.resolve(from)})`,
    };
  }
  throw new FileFormatError(
    `--from ${from} is neither a run, a checkpoint nor a build folder (no checkpoints/, state.json or manifest.json)`,
  );
}
