import { grad } from '../autodiff';
import { GraphBuildError } from '../core/errors';
import { Graph, Param } from '../core/graph';
import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { clipGradNorm, gradNorm } from '../optim/clip-grad-norm';
import type { Optimizer } from '../optim/optimizer';

/** Scalar loss terms of a model; `loss` is the one differentiated. */
export interface LossTerms {
  readonly loss: Tensor;
  readonly [term: string]: Tensor;
}

/** A model as the step graphs need it: declares its data inputs and parameters on g, returns its losses. */
export type StepModel = (g: Graph) => LossTerms;

/**
 * Naming convention shared by the graphs and the runtime:
 * - parameters are graph inputs named as in the checkpoint (`encoder.blocks.0.attn.qkv.weight`);
 * - optimizer state is `<slot>.<param>` (e.g. `exp_avg.encoder.norm.weight`), zero at the start;
 * - `train_step` outputs each updated parameter and state tensor as `<input name>.next`, so a runtime
 *   feeds output `X.next` back as input `X` of the next step;
 * - `grad_step` outputs `grad.<param>` per trainable parameter;
 * - scalars: `lr` float32 [] and `step` int64 [] (1-based number of the update being made).
 */
export const NEXT = '.next';
export const stateInputName = (slot: string, param: string): string => `${slot}.${param}`;
export const gradOutputName = (param: string): string => `grad.${param}`;

export interface TrainStepOptions {
  readonly optimizer: Optimizer;
  /** Global gradient-norm clipping (clip_grad_norm_); the unclipped norm is output as `grad_norm`. */
  readonly clipGradNorm?: number;
}

function traceModel(name: string, model: StepModel): { graph: Graph; terms: LossTerms; trainable: Param[] } {
  const graph = new Graph(name);
  const terms = model(graph);
  for (const [term, t] of Object.entries(terms)) {
    if (t.rank !== 0) throw new GraphBuildError(`loss term '${term}' must be a scalar, got rank ${t.rank}`);
  }
  return { graph, terms, trainable: graph.params.filter((p) => p.trainable) };
}

function outputTerms(graph: Graph, terms: LossTerms): void {
  for (const [term, t] of Object.entries(terms)) graph.output(term, t);
}

/** Forward only: inputs + params -> loss terms. */
export function buildEvalStep(model: StepModel): Graph {
  const { graph, terms } = traceModel('eval_step', model);
  outputTerms(graph, terms);
  return graph;
}

/** Inputs + params -> loss terms and `grad.<param>` per trainable parameter (accumulation, data parallel). */
export function buildGradStep(model: StepModel): Graph {
  const { graph, terms, trainable } = traceModel('grad_step', model);
  outputTerms(graph, terms);
  const grads = grad(
    terms.loss,
    trainable.map((p) => p.tensor),
  );
  trainable.forEach((p, i) => graph.output(gradOutputName(p.name), grads[i]));
  return graph;
}

/**
 * The fused step: inputs + params + optimizer state + lr + step -> loss terms, grad_norm, and the
 * updated params and state (`.next`), forward, backward and update in one ORT session run.
 */
export function buildTrainStep(model: StepModel, options: TrainStepOptions): Graph {
  const { graph, terms, trainable } = traceModel('train_step', model);
  const { optimizer } = options;
  const lr = graph.input('lr', 'float32', []);
  const step = op.cast(graph.input('step', 'int64', []), 'float32');
  outputTerms(graph, terms);
  let grads = grad(
    terms.loss,
    trainable.map((p) => p.tensor),
  );
  if (options.clipGradNorm !== undefined) {
    const clipped = clipGradNorm(grads, options.clipGradNorm);
    grads = clipped.grads;
    graph.output('grad_norm', clipped.norm);
  } else {
    graph.output('grad_norm', gradNorm(grads));
  }
  const shared = graph.withScope('optimizer', () => optimizer.prepare({ lr, step }));
  trainable.forEach((p, i) => {
    const state: Record<string, Tensor> = {};
    for (const slot of optimizer.stateSlots) {
      state[slot] = graph.input(stateInputName(slot, p.name), p.tensor.dtype, p.tensor.shape);
    }
    const update = graph.withScope('optimizer', () => optimizer.update(p, p.tensor, grads[i], state, shared));
    graph.output(`${p.name}${NEXT}`, update.param);
    for (const slot of optimizer.stateSlots)
      graph.output(`${stateInputName(slot, p.name)}${NEXT}`, update.state[slot]);
  });
  return graph;
}
