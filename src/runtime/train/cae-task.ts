import * as path from 'node:path';
import type { Manifest } from '../../artifacts/manifest';
import { TOKENIZER_FILE } from '../../artifacts/tokenizer';
import { ModelSession, SessionConfig } from '../session';
import { stepInputs } from './step-inputs';
import type { TrainingTask } from './training-task';
import { CAE_LOSS_TERMS } from '../../graph-builder/cae/model';

export { CAE_LOSS_TERMS } from '../../graph-builder/cae/model';

/**
 * CAE pretraining: masks and drop path per step, token targets through the build's tokenizer;
 * the graphs output the reconstruction and alignment terms.
 */
export async function caePretrainingTask(
  manifest: Manifest,
  buildDir: string,
  options: { alignmentDropPath: boolean; session: SessionConfig },
): Promise<TrainingTask> {
  const tokenizer = manifest.tokenizer
    ? await ModelSession.create(path.join(buildDir, TOKENIZER_FILE), options.session)
    : undefined;
  return {
    terms: CAE_LOSS_TERMS,
    feeds: (batch, rng) =>
      stepInputs(manifest, batch, rng, { alignmentDropPath: options.alignmentDropPath, tokenizer }),
    release: async () => tokenizer?.release(),
  };
}
