import { onnx } from 'onnx-proto';
import { CaeConfig } from '../../src/graph-builder/cae/config';
import { buildEncoderGraph, caePretrainModel } from '../../src/graph-builder/cae/model';
import { buildReconstructionGraph } from '../../src/graph-builder/cae/reconstruct';
import { Graph } from '../../src/graph-builder/core/graph';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../../src/graph-builder/optim/adamw';
import { sgd } from '../../src/graph-builder/optim/sgd';
import {
  attentivePoolGraph,
  attentiveProbeGraph,
  attentiveProbeModel,
} from '../../src/graph-builder/probes/attentive-probe';
import { linearProbeGraph, linearProbeModel } from '../../src/graph-builder/probes/linear-probe';
import { buildEvalStep, buildGradStep, buildTrainStep } from '../../src/graph-builder/training/step-graphs';
import { buildClassifierGraph, finetuneModel } from '../../src/graph-builder/finetune/classifier';
import { layerDecayScale } from '../../src/graph-builder/optim/layer-decay';
import { dallEEncoderGraph } from '../../src/graph-builder/tokenizers/dall-e-encoder';
import { smallCaeConfig } from './small-cae';

export interface EmittedGraph {
  readonly name: string;
  readonly graph: Graph;
}

function caeGraphs(label: string, c: CaeConfig): EmittedGraph[] {
  const model = caePretrainModel(c);
  return [
    { name: `${label} eval_step`, graph: buildEvalStep(model) },
    { name: `${label} grad_step`, graph: buildGradStep(model) },
    {
      name: `${label} train_step`,
      graph: buildTrainStep(model, {
        optimizer: adamw(),
        clipGradNorm: 3,
        lossScaling: c.precision === 'fp16',
      }),
    },
  ];
}

/**
 * One of every kind of graph cae-onnx writes, at test size: the CAE step graphs (pixel and token
 * targets, fp32 and fp16, learned positions), the deployment encoder, the reconstruction graph, the probes' train
 * steps and inference graphs, the fine-tuning step and classifier, and the imported DALL-E tokenizer.
 */
export function emittedGraphs(): EmittedGraph[] {
  const c = smallCaeConfig({ batch: 2, dropPathRate: 0.1 });
  const stats = { mean: new Float32Array(32), variance: new Float32Array(32).fill(1) };
  return [
    ...caeGraphs('pixels', c),
    ...caeGraphs('tokens', smallCaeConfig({ batch: 2, target: 'tokens', vocabSize: 16 })),
    ...caeGraphs('fp16', smallCaeConfig({ batch: 2, precision: 'fp16' })),
    ...caeGraphs('learned positions', smallCaeConfig({ batch: 2, learnedPositions: true })),
    { name: 'encoder', graph: buildEncoderGraph(c) },
    { name: 'reconstruction', graph: buildReconstructionGraph(c, 2) },
    {
      name: 'linear probe train_step',
      graph: buildTrainStep(linearProbeModel(4, stats, 10), { optimizer: sgd({ momentum: 0.9 }) }),
    },
    { name: 'linear probe', graph: linearProbeGraph(stats, 10) },
    {
      name: 'attentive probe train_step',
      graph: buildTrainStep(attentiveProbeModel(4, 17, 32, 2, 10), {
        optimizer: sgd({ momentum: 0.9, nesterov: true }),
      }),
    },
    { name: 'attentive pool', graph: attentivePoolGraph(17, 32, 2) },
    { name: 'attentive probe', graph: attentiveProbeGraph(17, 32, 2, 10) },
    {
      name: 'fine-tuning train_step (layer decay)',
      graph: buildTrainStep(finetuneModel(c, 10), {
        optimizer: adamw(),
        clipGradNorm: 3,
        lrScale: (p) => layerDecayScale(p.name, c.depth, 0.65),
      }),
    },
    { name: 'classifier', graph: buildClassifierGraph(c, 10) },
    {
      name: 'DALL-E tokenizer',
      graph: dallEEncoderGraph({ nHid: 8, blocksPerGroup: 1, inChans: 1, vocabSize: 16, imageSize: 56 }),
    },
  ];
}

/** A graph as a training-style model (parameters as inputs), the form every audit reads. */
export const asModel = (graph: Graph, opset?: number): onnx.ModelProto =>
  toModelProto(graph, { paramsAs: 'inputs', opset });
