import type { Manifest } from '../../artifacts/manifest-format';
import { referenceStateDict } from '../../artifacts/reference-state-dict';
import type { TensorData } from '../../graph-builder/core/tensor-data';

/* A checkpoint's files and their contents (no file system: the browser page writes checkpoints too). */

export const CHECKPOINTS = 'checkpoints';
export const CHECKPOINT_PARAMS = 'params.safetensors';
export const CHECKPOINT_OPTIMIZER = 'optimizer.safetensors';
export const CHECKPOINT_STATE = 'state.json';

/** The options a checkpoint records: a training run's (RunOptions), or an import's record. */
export type RecordedOptions = Readonly<Record<string, unknown>>;

/** Everything besides tensors that a resumed run needs to continue exactly. */
export interface TrainState<Options extends object = RecordedOptions> {
  /** Updates completed. */
  readonly step: number;
  /** Where the data loader continues. */
  readonly data: { readonly epoch: number; readonly position: number };
  readonly seed: number;
  readonly totalSteps: number;
  /** The run's options as given (for resume checks and the record). */
  readonly options: Options;
  readonly elapsedSeconds: number;
  readonly lastLoss?: number;
}

export interface Checkpoint<Options extends object = RecordedOptions> {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly params: Map<string, TensorData>;
  readonly optimizer: Map<string, TensorData>;
  readonly state: TrainState<Options>;
}

/** The folder of the checkpoint after update `step`, under <run>/checkpoints. */
export const stepDir = (step: number) => `step-${String(step).padStart(8, '0')}`;

/** What a checkpoint's files hold: tensors with their metadata, and state.json's text. */
export function checkpointContents(
  manifest: Manifest,
  params: ReadonlyMap<string, TensorData>,
  optimizer: ReadonlyMap<string, TensorData>,
  state: TrainState<object>,
) {
  const meta = { step: String(state.step) };
  return {
    // Pretraining checkpoints also hold what the PyTorch reference's state_dict needs; classifiers hold ours.
    params: {
      tensors: manifest.task ? params : referenceStateDict(manifest.config, params),
      metadata: { format: 'cae-onnx', ...meta },
    },
    optimizer: { tensors: optimizer, metadata: meta },
    state: `${JSON.stringify(state, null, 2)}\n`,
  };
}
