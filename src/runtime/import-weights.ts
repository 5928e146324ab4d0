import * as path from 'node:path';
import { buildArtifacts, PARAMS_FILE } from '../artifacts/build';
import { TRAINING_OPTIMIZER } from '../artifacts/build-plan';
import { ImportError, Layout, mapWeights, UNUSED_TENSORS } from '../artifacts/imports/vit-layouts';
import { resizePositionTable } from '../artifacts/imports/position-table';
import { readWeightsFile } from '../artifacts/imports/weights-file';
import type { Manifest } from '../artifacts/manifest';
import { referenceStateDict } from '../artifacts/reference-state-dict';
import { readSafetensors, writeSafetensors } from '../artifacts/safetensors';
import { CaeConfig, PRESETS, resolveConfig } from '../graph-builder/cae/config';
import { formatShape } from '../graph-builder/core/shape';
import type { TensorData } from '../graph-builder/core/tensor-data';
import { writeCheckpoint } from './train/checkpoint';

export interface ImportOptions {
  readonly file: string;
  /** The run folder to write: `build/` (graphs; its params.safetensors holds the imported weights) and checkpoint step 0. */
  readonly outDir: string;
  /** Attention heads: weights do not say (default: the spec's 12, 16 for width 1024; width/64 for plain ViTs). */
  readonly heads?: number;
  readonly decoderHeads?: number;
  /** When the file has no position table to read it from (default 224). */
  readonly imageSize?: number;
  readonly batch?: number;
}

export interface ImportReport {
  readonly layout: Layout;
  readonly manifest: Manifest;
  readonly checkpoint: string;
  readonly buildDir: string;
  readonly imported: number;
  /** Our parameters the file did not have (newly initialized, e.g. regressor and decoder of an encoder-only file). */
  readonly fresh: string[];
  readonly ignored: { name: string; why: string }[];
  readonly notes: string[];
}

/** The spec's heads for CAE widths; timm's width/64 for plain ViTs. */
function defaultHeads(dim: number, layout: Layout): number {
  if ((layout === 'vit' || layout === 'mmpretrain') && dim % 64 === 0) return dim / 64;
  return dim === 1024 ? 16 : 12;
}

/** The preset nearest the imported sizes, whose other settings (recipe, masking ratio) are kept. */
function basePreset(c: Partial<CaeConfig>): string {
  const same = Object.values(PRESETS).find((p) => p.embedDim === c.embedDim && p.imageSize === c.imageSize);
  if (same) return same.preset;
  return (c.imageSize ?? 224) >= 112 ? 'cae-base' : 'cae-tiny-28';
}

function configFor(mapped: ReturnType<typeof mapWeights>, o: ImportOptions): CaeConfig {
  const c = { ...mapped.config, imageSize: o.imageSize ?? mapped.config.imageSize ?? 224 };
  const preset = basePreset(c);
  const decoderEmbedDim = c.decoderEmbedDim ?? PRESETS[preset].decoderEmbedDim;
  const numPatches = (c.imageSize / c.patchSize!) ** 2;
  try {
    return resolveConfig(preset, {
      ...c,
      decoderEmbedDim,
      numHeads: o.heads ?? defaultHeads(c.embedDim!, mapped.layout),
      decoderNumHeads: o.decoderHeads ?? defaultHeads(decoderEmbedDim, 'cae-pretrain'),
      numMasked: Math.floor(numPatches / 2),
      ...(o.batch ? { batch: o.batch } : {}),
    });
  } catch (e) {
    throw new ImportError(
      `the imported sizes do not make a CAE: ${(e as Error).message} (set --heads / --decoder-heads)`,
    );
  }
}

/**
 * Imports a PyTorch or safetensors weight file as a cae-onnx run folder: a build for the sizes read
 * from the tensors, whose params.safetensors holds the imported weights (so `train --build` starts
 * from them), and a checkpoint (step 0) that `export`, `probe` and `reconstruct` accept.
 */
export async function importWeights(o: ImportOptions): Promise<ImportReport> {
  const file = await readWeightsFile(o.file, (name) => UNUSED_TENSORS.test(name));
  const mapped = mapWeights(file.tensors, file.skipped);
  const config = configFor(mapped, o);
  const table = mapped.params.get('encoder.pos_embed');
  const fileSize = mapped.config.imageSize;
  if (table && fileSize && fileSize !== config.imageSize) {
    const side = config.imageSize / config.patchSize;
    mapped.params.set('encoder.pos_embed', resizePositionTable(table, side));
    mapped.notes.push(
      `the learned position table was resized bicubically from ${fileSize / config.patchSize}x${fileSize / config.patchSize} ` +
        `to ${side}x${side} patches for ${config.imageSize}px images, as timm resamples a table for a new resolution`,
    );
  }
  const buildDir = path.join(o.outDir, 'build');
  const manifest = buildArtifacts({
    outDir: buildDir,
    config,
    seed: 0,
    optimizer: TRAINING_OPTIMIZER,
    force: true,
  });
  const names = new Set(manifest.params.map((p) => p.name));
  const params = readSafetensors(path.join(buildDir, PARAMS_FILE), { names: (n) => names.has(n) }).tensors;
  const fresh: string[] = [];
  for (const p of manifest.params) {
    const given: TensorData | undefined = mapped.params.get(p.name);
    if (!given) {
      fresh.push(p.name);
      continue;
    }
    const want = p.shape as number[];
    if (given.shape.length !== want.length || given.shape.some((d, i) => d !== want[i]))
      throw new ImportError(
        `${p.name} is ${formatShape(given.shape)} in the file; the model needs ${formatShape(want)}`,
      );
    params.set(p.name, given);
  }
  writeSafetensors(path.join(buildDir, PARAMS_FILE), referenceStateDict(config, params), {
    format: 'cae-onnx',
    imported: path.resolve(o.file),
  });
  const checkpoint = writeCheckpoint(o.outDir, manifest, params, new Map(), {
    step: 0,
    data: { epoch: 0, position: 0 },
    seed: 0,
    totalSteps: 0,
    options: { importedFrom: path.resolve(o.file), layout: mapped.layout },
    elapsedSeconds: 0,
  });
  return {
    layout: mapped.layout,
    manifest,
    checkpoint,
    buildDir,
    imported: mapped.params.size,
    fresh,
    ignored: mapped.ignored,
    notes: mapped.notes,
  };
}
