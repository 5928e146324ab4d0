import * as fs from 'node:fs';
import * as path from 'node:path';
import { CaeConfig, gridOf } from '../graph-builder/cae/config';
import { Graph } from '../graph-builder/core/graph';
import type { TensorData } from '../graph-builder/core/tensor-data';
import { buildClassifierGraph, finetuneModel } from '../graph-builder/finetune/classifier';
import { DEFAULT_OPSET, unsupportedOpset } from '../graph-builder/onnx/to-model-proto';
import { adamw, AdamWConfig } from '../graph-builder/optim/adamw';
import { layerDecayScale } from '../graph-builder/optim/layer-decay';
import { buildGradStep, buildTrainStep } from '../graph-builder/training/step-graphs';
import { GRAPH_FILES, PARAMS_FILE, writeGraph } from './build';
import { manifestHeader, paramSpec } from './build-plan';
import { initializeParams } from './initialize-params';
import { Manifest, MANIFEST_FILE, writeManifest } from './manifest';
import { writeSafetensors } from './safetensors';

export interface FinetuneBuildOptions {
  readonly outDir: string;
  /** The encoder's config with the fine-tuning batch and drop-path rate. */
  readonly config: CaeConfig;
  readonly classNames: readonly string[];
  /** Layer-wise lr decay (1: none). */
  readonly layerDecay: number;
  readonly optimizer: AdamWConfig & { readonly clipGradNorm?: number };
  readonly normalization: Manifest['normalization'];
  /** Seed of the head's (and, without `encoder`, the whole model's) initialization. */
  readonly seed: number;
  /** Encoder weights (our names, `encoder.*`) to start from; absent: a randomly initialized encoder. */
  readonly encoder?: ReadonlyMap<string, TensorData>;
  /** Recorded in the manifest: a checkpoint or build folder, or 'random'. */
  readonly initializedFrom: string;
  readonly opset?: number;
}

/**
 * The fine-tuning model's initial weights: the encoder's blocks, patch embedding, cls token (and a
 * learned position table) from `encoder`; `fc_norm` from the pretrained `encoder.norm` when there is
 * one (the reference renames `norm.` to `fc_norm.` when it loads a pretrained encoder); the head
 * freshly initialized (trunc normal 0.02 x 0.001, zero bias).
 */
function initialWeights(o: FinetuneBuildOptions, graph: Graph): Map<string, TensorData> {
  const params = initializeParams(graph.params, o.seed);
  if (!o.encoder) return params;
  for (const p of graph.params) {
    const fromNorm = p.name.startsWith('fc_norm.') ? p.name.replace('fc_norm.', 'encoder.norm.') : undefined;
    const source = p.name.startsWith('encoder.') ? p.name : fromNorm;
    if (!source) continue;
    const value = o.encoder.get(source);
    if (!value) {
      if (fromNorm) continue; // no final norm to start from: fc_norm keeps (1, 0)
      throw new Error(`the encoder weights lack ${source}`);
    }
    const want = p.tensor.shape.join(',');
    if (value.shape.join(',') !== want)
      throw new Error(`${source} is [${value.shape.join(', ')}], the classifier needs [${want}]`);
    params.set(p.name, value);
  }
  return params;
}

/**
 * Writes a fine-tuning build into outDir: train_step (AdamW with each parameter's layer-decay lr
 * scale in the graph), grad_step (accumulation), the classifier's logits with parameters as inputs
 * (validation and export checks), the initial weights and, last, manifest.json.
 */
export function buildFinetuneArtifacts(o: FinetuneBuildOptions): Manifest {
  const c = o.config;
  const opset = o.opset ?? DEFAULT_OPSET;
  const unsupported = unsupportedOpset(opset);
  if (unsupported) throw new Error(unsupported);
  const classes = o.classNames.length;
  if (classes < 2) throw new Error(`a classifier needs at least 2 classes, got ${classes}`);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.rmSync(path.join(o.outDir, MANIFEST_FILE), { force: true });

  const model = finetuneModel(c, classes);
  const traced = new Graph('params');
  model(traced);
  const params = initialWeights(o, traced);
  const lrScale = (name: string) => layerDecayScale(name, c.depth, o.layerDecay);
  const optimizer = adamw(o.optimizer);
  const trainStep = writeGraph(
    o.outDir,
    GRAPH_FILES.train_step,
    buildTrainStep(model, {
      optimizer,
      clipGradNorm: o.optimizer.clipGradNorm,
      lrScale: (p) => lrScale(p.name),
    }),
    opset,
  );
  const gradStep = writeGraph(o.outDir, GRAPH_FILES.grad_step, buildGradStep(model), opset);
  const classifier = writeGraph(o.outDir, GRAPH_FILES.classifier, buildClassifierGraph(c, classes), opset);
  writeSafetensors(path.join(o.outDir, PARAMS_FILE), params, { format: 'cae-onnx', task: 'classification' });
  const { side, numPatches } = gridOf(c);
  const manifest: Manifest = {
    ...manifestHeader(c, o.seed, opset),
    grid: { side, numPatches, numVisible: numPatches, numMasked: 0 },
    normalization: o.normalization,
    params: traced.params.map((p) => paramSpec(p, lrScale(p.name))),
    referenceOnly: [],
    optimizer: { name: 'adamw', ...o.optimizer, stateSlots: optimizer.stateSlots },
    graphs: { train_step: trainStep, grad_step: gradStep, classifier },
    task: {
      kind: 'classification',
      classes,
      classNames: [...o.classNames],
      layerDecay: o.layerDecay,
      initializedFrom: o.initializedFrom,
    },
  };
  writeManifest(o.outDir, manifest);
  return manifest;
}
