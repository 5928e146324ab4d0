import { onnx } from 'onnx-proto';
import { CaeConfig, gridOf } from '../graph-builder/cae/config';
import { buildEncoderGraph, caeParams, caePretrainModel } from '../graph-builder/cae/model';
import { matmulFlops } from '../graph-builder/analysis/flops';
import { dtypeFromOnnxCode } from '../graph-builder/core/dtype';
import type { Graph, Param } from '../graph-builder/core/graph';
import type { TensorData } from '../graph-builder/core/tensor-data';
import { DEFAULT_OPSET, toModelProto, unsupportedOpset } from '../graph-builder/onnx/to-model-proto';
import { adamw, ADAMW_DEFAULTS, AdamWConfig } from '../graph-builder/optim/adamw';
import { DEFAULT_CLIP_GRAD_NORM } from '../graph-builder/optim/clip-grad-norm';
import { buildEvalStep, buildGradStep, buildTrainStep } from '../graph-builder/training/step-graphs';
import { encoderMetadata, TrainedIn } from './encoder-metadata';
import { initializeParams } from './initialize-params';
import {
  GraphName,
  GraphSpec,
  Manifest,
  MANIFEST_FORMAT,
  ParamSpec,
  TensorSpec,
  TokenizerSpec,
} from './manifest-format';
import { referenceOnlyNames, referenceStateDict } from './reference-state-dict';
import { CAE_ONNX_VERSION } from './version';

/**
 * What a build is, in memory: the manifest, the ONNX models by file name and the initial weights.
 * No file system here, so the browser page builds with the same code; build.ts writes it to a folder.
 */

export const PARAMS_FILE = 'params.safetensors';

/** The file each graph of a build is written to. */
export const GRAPH_FILES: Readonly<Record<GraphName, string>> = {
  train_step: 'train_step.onnx',
  grad_step: 'grad_step.onnx',
  eval_step: 'eval_step.onnx',
  encoder: 'encoder.onnx',
  classifier: 'classifier_logits.onnx',
};

export interface BuildPlanOptions {
  readonly config: CaeConfig;
  readonly seed: number;
  readonly optimizer: AdamWConfig & { readonly clipGradNorm?: number };
  readonly tokenizer?: TokenizerSpec;
  readonly normalization?: Manifest['normalization'];
  /** ONNX opset of every graph (default 21; `cae-onnx build --ep` picks one per provider). */
  readonly opset?: number;
  readonly log?: (message: string) => void;
}

export interface BuildPlan {
  readonly manifest: Manifest;
  /** ONNX models by file name. */
  readonly models: ReadonlyMap<string, onnx.ModelProto>;
  /** Initial weights, by our parameter names. */
  readonly params: ReadonlyMap<string, TensorData>;
  /** What params.safetensors holds: the reference state_dict's names and tensors, and its metadata. */
  readonly paramsFile: {
    readonly tensors: Map<string, TensorData>;
    readonly metadata: Record<string, string>;
  };
}

/** The optimizer a run builds its preset with (`cae-onnx train`, the page): AdamW's defaults, the recipe's clipping. */
export const TRAINING_OPTIMIZER: BuildPlanOptions['optimizer'] = {
  ...ADAMW_DEFAULTS,
  clipGradNorm: DEFAULT_CLIP_GRAD_NORM,
};

/** What every build's manifest starts with: format, creator, config, seed and opset. */
export function manifestHeader(config: CaeConfig, seed: number, opset: number) {
  return { format: MANIFEST_FORMAT, createdBy: `cae-onnx ${CAE_ONNX_VERSION}`, config, seed, opset };
}

/** A traced parameter as the manifest lists it. */
export function paramSpec(p: Param, lrScale?: number): ParamSpec {
  return {
    name: p.name,
    dtype: p.tensor.dtype,
    shape: p.tensor.shape,
    trainable: p.trainable,
    weightDecay: p.weightDecay,
    ...(lrScale === undefined ? {} : { lrScale }),
  };
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

/** A graph as an ONNX model (parameters as inputs, or as initializers when values are given) and its spec. */
export function graphModel(
  file: string,
  graph: Graph,
  opset: number,
  params?: ReadonlyMap<string, TensorData>,
  metadata?: Record<string, string>,
): { model: onnx.ModelProto; spec: GraphSpec } {
  const model = toModelProto(graph, {
    ...(params ? { paramsAs: 'initializers', paramValues: params, metadata } : { paramsAs: 'inputs' }),
    opset,
    producerVersion: CAE_ONNX_VERSION,
  });
  const spec = {
    file,
    inputs: valueSpecs(model.graph?.input ?? []),
    outputs: valueSpecs(model.graph?.output ?? []),
    matmulFlops: matmulFlops(graph),
  };
  return { model, spec };
}

/** The encoder.* tensors of a parameter set: the deployment encoder's weights. */
export function encoderWeights(params: ReadonlyMap<string, TensorData>): Map<string, TensorData> {
  return new Map([...params].filter(([k]) => k.startsWith('encoder.')));
}

/**
 * The deployment encoder, images [B, C, H, W] -> tokens [B, 1+N, D], with the encoder weights of
 * `params` as initializers and the metadata `probe` reads (a build's, `export`'s and the page's).
 */
export function encoderGraphModel(
  m: Pick<Manifest, 'normalization' | 'config'>,
  params: ReadonlyMap<string, TensorData>,
  opset: number,
  trainedIn?: TrainedIn,
): { model: onnx.ModelProto; spec: GraphSpec } {
  const metadata = encoderMetadata(m, trainedIn);
  return graphModel(
    GRAPH_FILES.encoder,
    buildEncoderGraph(m.config),
    opset,
    encoderWeights(params),
    metadata,
  );
}

/** Traces a CAE pretraining build: the step graphs, the deployment encoder and the initial weights. */
export function planBuild(o: BuildPlanOptions): BuildPlan {
  const log = o.log ?? (() => undefined);
  const c = o.config;
  const opset = o.opset ?? DEFAULT_OPSET;
  const unsupported = unsupportedOpset(opset);
  if (unsupported) throw new Error(unsupported);

  const declared = caeParams(c);
  log(`initializing ${declared.length} parameter tensors (seed ${o.seed})`);
  const params = initializeParams(declared, o.seed);
  const model = caePretrainModel(c);
  const optimizer = adamw(o.optimizer);
  const normalization = o.normalization ?? defaultNormalization(c.inChans);

  const models = new Map<string, onnx.ModelProto>();
  const traced = (what: string, made: ReturnType<typeof graphModel>): GraphSpec => {
    log(what);
    models.set(made.spec.file, made.model);
    return made.spec;
  };
  const evalStep = traced(
    'tracing eval_step',
    graphModel(GRAPH_FILES.eval_step, buildEvalStep(model), opset),
  );
  const gradStep = traced(
    'tracing grad_step (forward + backward)',
    graphModel(GRAPH_FILES.grad_step, buildGradStep(model), opset),
  );
  const trainStep = traced(
    'tracing train_step (forward + backward + AdamW)',
    graphModel(
      GRAPH_FILES.train_step,
      buildTrainStep(model, {
        optimizer,
        clipGradNorm: o.optimizer.clipGradNorm,
        lossScaling: c.precision === 'fp16',
      }),
      opset,
    ),
  );
  const encoder = traced(
    'tracing encoder.onnx',
    encoderGraphModel({ normalization, config: c }, params, opset),
  );

  const { side, numPatches, numVisible } = gridOf(c);
  const manifest: Manifest = {
    ...manifestHeader(c, o.seed, opset),
    grid: { side, numPatches, numVisible, numMasked: c.numMasked },
    normalization,
    params: declared.map((p) => paramSpec(p)),
    referenceOnly: referenceOnlyNames(c, params),
    optimizer: { name: 'adamw', ...o.optimizer, stateSlots: optimizer.stateSlots },
    graphs: { train_step: trainStep, grad_step: gradStep, eval_step: evalStep, encoder },
    tokenizer: o.tokenizer,
  };
  return {
    manifest,
    models,
    params,
    paramsFile: {
      tensors: referenceStateDict(c, params),
      metadata: { format: 'cae-onnx', preset: c.preset },
    },
  };
}
