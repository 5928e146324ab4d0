import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeAll } from '../../artifacts/atomic-write';
import type { LoaderOptions } from '../data/loader';
import { reconstructFromSource, writeReconstructionGrid } from '../eval/reconstruct';
import { figureScale } from '../eval/reconstruction-pixels';
import { readCheckpoint, readTrainState } from '../train/checkpoint';
import type { RunOptions } from '../train/run-options';

/** The reconstruction figure of a pixel-target run, made at its end, shown in its report. */
export const RECONSTRUCTION_FILE = 'reconstruction.png';
const RECORD_FILE = 'reconstruction.json';

export interface ReconstructionRecord {
  readonly file: string;
  /** The checkpoint step the figure shows. */
  readonly step: number;
  readonly images: number;
  /** Held-out images (MNIST test) or, for the user's folders, images of the training data. */
  readonly heldOut: boolean;
  readonly maskedMse: number;
  readonly fullMse: number;
}

/** Images the figure shows: MNIST's test split for MNIST runs, the training source otherwise. */
function figureSource(source: LoaderOptions['source']): {
  source: LoaderOptions['source'];
  heldOut: boolean;
} {
  return source.kind === 'mnist'
    ? { source: { kind: 'mnist', split: 'test' }, heldOut: true }
    : { source, heldOut: false };
}

/**
 * Writes reconstruction.png (8 images: original | masked input | masked patches reconstructed | all
 * patches) from a checkpoint of a pixel-target run, on the CPU; undefined for other runs.
 */
export async function writeRunReconstruction(
  runDir: string,
  checkpoint: string,
  count = 8,
): Promise<ReconstructionRecord | undefined> {
  // A resumed run that stopped again at the same checkpoint already has this figure.
  const current = readReconstructionRecord(runDir);
  if (current && current.step === readTrainState(checkpoint).step) return current;
  const ckpt = readCheckpoint<RunOptions>(checkpoint);
  const m = ckpt.manifest;
  if (m.task || m.config.target !== 'pixels') return undefined;
  const { source, heldOut } = figureSource(ckpt.state.options.data);
  const r = await reconstructFromSource({ manifest: m, params: ckpt.params, source, count, seed: 0 });
  await writeReconstructionGrid(
    r,
    m.config.inChans,
    m.config.imageSize,
    path.join(runDir, RECONSTRUCTION_FILE),
    figureScale(m.config.imageSize),
  );
  const record: ReconstructionRecord = {
    file: RECONSTRUCTION_FILE,
    step: ckpt.state.step,
    images: count,
    heldOut,
    maskedMse: r.maskedMse,
    fullMse: r.fullMse,
  };
  writeFileAtomic(path.join(runDir, RECORD_FILE), (fd) =>
    writeAll(fd, Buffer.from(`${JSON.stringify(record)}\n`)),
  );
  return record;
}

export function readReconstructionRecord(runDir: string): ReconstructionRecord | undefined {
  const file = path.join(runDir, RECORD_FILE);
  if (!fs.existsSync(file) || !fs.existsSync(path.join(runDir, RECONSTRUCTION_FILE))) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ReconstructionRecord;
  } catch {
    return undefined;
  }
}
