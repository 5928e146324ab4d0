import type { StepMetrics } from '../../runtime/train/step-metrics';

/** Messages between the page (UI thread) and the training worker. */

/** Where the graphs run: WebGPU, threaded WASM, or WebGPU only when the adapter is real hardware. */
export type Backend = 'auto' | 'webgpu' | 'wasm';

/** A file the user picked, with its path inside the picked folder ('/' separators, top folder left out). */
export interface PickedFile {
  readonly path: string;
  readonly file: File;
}

/** A new run from a preset, as the page's form gives it (absent numbers take `cae-onnx train`'s defaults). */
export interface NewRun {
  readonly kind: 'new';
  readonly preset: string;
  readonly batch?: number;
  readonly steps?: number;
  readonly seed?: number;
  readonly lr?: number;
  readonly limit?: number;
}

/**
 * A folder made by the CLI or the page: a run (continued from its newest checkpoint, with its own
 * settings) or a build (a new run with the form's steps, seed, lr and limit).
 */
export interface UploadedRun {
  readonly kind: 'upload';
  readonly name: string;
  readonly files: readonly PickedFile[];
  readonly settings: Omit<NewRun, 'kind' | 'preset' | 'batch'>;
}

export type TrainingData =
  | { readonly kind: 'mnist' }
  | { readonly kind: 'folder'; readonly name: string; readonly files: readonly PickedFile[] };

export type PageRequest =
  | {
      readonly type: 'start';
      readonly backend: Backend;
      readonly run: NewRun | UploadedRun;
      readonly data: TrainingData;
      /** Steps between reconstruction figures (pixel targets). */
      readonly reconstructEvery: number;
    }
  | { readonly type: 'stop' }
  | { readonly type: 'download'; readonly what: 'checkpoint' | 'encoder' };

/** What the run is, for the page's header. */
export interface RunInfo {
  readonly name: string;
  readonly preset: string;
  readonly parameters: number;
  readonly batch: number;
  readonly steps: number;
  readonly startStep: number;
  readonly data: string;
  readonly terms: readonly string[];
}

export type WorkerMessage =
  | { readonly type: 'backend'; readonly backend: 'webgpu' | 'wasm'; readonly description: string }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'started'; readonly run: RunInfo; readonly history: readonly StepMetrics[] }
  | { readonly type: 'step'; readonly metrics: StepMetrics }
  | {
      readonly type: 'reconstruction';
      readonly step: number;
      readonly width: number;
      readonly height: number;
      readonly rgb: Uint8Array;
      readonly maskedMse: number;
    }
  | { readonly type: 'ended'; readonly reason: 'finished' | 'stopped'; readonly step: number }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'file'; readonly name: string; readonly bytes: Uint8Array; readonly mime: string };
