import * as path from 'node:path';
import type { TensorData } from '../../graph-builder/core/tensor-data';
import { openTorchCheckpoint } from '../pytorch/torch-file';
import { readSafetensors } from '../safetensors';

/** Every tensor of a weight file by its dotted name. */
export interface WeightsFile {
  readonly tensors: Map<string, TensorData>;
  /** Tensors left unread because `skip` named them (PyTorch files). */
  readonly skipped: string[];
}

/**
 * Reads a `.safetensors` file, or a PyTorch checkpoint written by torch.save (`.pt`, `.pth`, `.bin`,
 * or any other name: a file that is not safetensors is read as a torch zip). Floats come back as
 * float32 (fp16/bf16 converted), integers as int64.
 */
export async function readWeightsFile(
  file: string,
  skip: (name: string) => boolean = () => false,
): Promise<WeightsFile> {
  if (path.extname(file) === '.safetensors') return { tensors: readSafetensors(file).tensors, skipped: [] };
  const ckpt = await openTorchCheckpoint(file);
  try {
    const tensors = new Map<string, TensorData>();
    const skipped: string[] = [];
    for (const [name, ref] of ckpt.tensors) {
      if (skip(name)) skipped.push(name);
      else tensors.set(name, await ckpt.read(ref));
    }
    return { tensors, skipped };
  } finally {
    ckpt.close();
  }
}
