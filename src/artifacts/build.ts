import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { CaeConfig, gridOf } from '../graph-builder/cae/config';
import { buildEncoderGraph, caeParams, caePretrainModel } from '../graph-builder/cae/model';
import { matmulFlops } from '../graph-builder/analysis/flops';
import { dtypeFromOnnxCode } from '../graph-builder/core/dtype';
import type { Graph } from '../graph-builder/core/graph';
import type { TensorData } from '../graph-builder/core/tensor-data';
import { DEFAULT_OPSET, toModelProto, unsupportedOpset } from '../graph-builder/onnx/to-model-proto';
import { adamw, AdamWConfig } from '../graph-builder/optim/adamw';
import { buildEvalStep, buildGradStep, buildTrainStep } from '../graph-builder/training/step-graphs';
import { encoderMetadata } from './encoder-metadata';
import { initializeParams } from './initialize-params';
import {
  GraphSpec,
  Manifest,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  TensorSpec,
  TokenizerSpec,
  writeManifest,
} from './manifest';
import { writeModelFile } from './onnx-file';
import { referenceOnlyNames, referenceStateDict } from './reference-state-dict';
import { writeSafetensors } from './safetensors';
import { CAE_ONNX_VERSION } from './version';

export const PARAMS_FILE = 'params.safetensors';

export interface BuildOptions {
  readonly outDir: string;
  readonly config: CaeConfig;
  readonly seed: number;
  readonly optimizer: AdamWConfig & { readonly clipGradNorm?: number };
  readonly tokenizer?: TokenizerSpec;
  readonly normalization?: Manifest['normalization'];
  /** ONNX opset of every graph (default 21; `cae-onnx build --ep` picks one per provider). */
  readonly opset?: number;
  /** Replace an existing build in outDir. */
  readonly force?: boolean;
  readonly log?: (message: string) => void;
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Input normalization when none is given: ImageNet's statistics for RGB, (0.5, 0.5) for one channel. */
export function defaultNormalization(inChans: number): Manifest['normalization'] {
  return inChans === 3 ? IMAGENET : { mean: [0.5], std: [0.5] };
}

function valueSpecs(values: readonly onnx.IValueInfoProto[]): TensorSpec[] {
  return values.map((v) => ({
    name: v.name ?? '',
    dtype: dtypeFromOnnxCode(v.type?.tensorType?.elemType ?? 0),
    shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam || Number(d.dimValue)),
  }));
}

export function writeGraph(
  dir: string,
  file: string,
  graph: Graph,
  opset: number,
  params?: ReadonlyMap<string, TensorData>,
  metadata?: Record<string, string>,
): GraphSpec {
  const model = toModelProto(
    graph,
    params
      ? { paramsAs: 'initializers', paramValues: params, metadata, opset }
      : { paramsAs: 'inputs', opset },
  );
  writeModelFile(path.join(dir, file), model);
  return {
    file,
    inputs: valueSpecs(model.graph?.input ?? []),
    outputs: valueSpecs(model.graph?.output ?? []),
    matmulFlops: matmulFlops(graph),
  };
}

/**
 * Writes everything a training run needs into outDir: the three step graphs, the deployment encoder
 * with initial weights, params.safetensors (reference names) and, last, manifest.json, whose presence
 * marks a complete build.
 */
export function buildArtifacts(o: BuildOptions): Manifest {
  const log = o.log ?? (() => undefined);
  const c = o.config;
  const opset = o.opset ?? DEFAULT_OPSET;
  const unsupported = unsupportedOpset(opset);
  if (unsupported) throw new Error(unsupported);
  if (fs.existsSync(path.join(o.outDir, MANIFEST_FILE)) && !o.force) {
    throw new Error(`${o.outDir} already holds a build (pass --force to replace it)`);
  }
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.rmSync(path.join(o.outDir, MANIFEST_FILE), { force: true });

  const declared = caeParams(c);
  log(`initializing ${declared.length} parameter tensors (seed ${o.seed})`);
  const params = initializeParams(declared, o.seed);
  const model = caePretrainModel(c);
  const optimizer = adamw(o.optimizer);

  log('tracing eval_step');
  const evalStep = writeGraph(o.outDir, 'eval_step.onnx', buildEvalStep(model), opset);
  log('tracing grad_step (forward + backward)');
  const gradStep = writeGraph(o.outDir, 'grad_step.onnx', buildGradStep(model), opset);
  log('tracing train_step (forward + backward + AdamW)');
  const trainStep = writeGraph(
    o.outDir,
    'train_step.onnx',
    buildTrainStep(model, {
      optimizer,
      clipGradNorm: o.optimizer.clipGradNorm,
      lossScaling: o.config.precision === 'fp16',
    }),
    opset,
  );
  log('writing encoder.onnx');
  const encoderParams = new Map([...params].filter(([k]) => k.startsWith('encoder.')));
  const normalization = o.normalization ?? defaultNormalization(c.inChans);
  const metadata = encoderMetadata({ normalization, config: c } as Manifest);
  const encoder = writeGraph(o.outDir, 'encoder.onnx', buildEncoderGraph(c), opset, encoderParams, metadata);
  log(`writing ${PARAMS_FILE}`);
  writeSafetensors(path.join(o.outDir, PARAMS_FILE), referenceStateDict(c, params), {
    format: 'cae-onnx',
    preset: c.preset,
  });

  const { side, numPatches, numVisible } = gridOf(c);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    createdBy: `cae-onnx ${CAE_ONNX_VERSION}`,
    config: c,
    seed: o.seed,
    opset,
    grid: { side, numPatches, numVisible, numMasked: c.numMasked },
    normalization,
    params: declared.map((p) => ({
      name: p.name,
      dtype: p.tensor.dtype,
      shape: p.tensor.shape,
      trainable: p.trainable,
      weightDecay: p.weightDecay,
    })),
    referenceOnly: referenceOnlyNames(c, params),
    optimizer: { name: 'adamw', ...o.optimizer, stateSlots: optimizer.stateSlots },
    graphs: { train_step: trainStep, grad_step: gradStep, eval_step: evalStep, encoder },
    tokenizer: o.tokenizer,
  };
  writeManifest(o.outDir, manifest);
  return manifest;
}
