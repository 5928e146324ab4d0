import { grad } from '../autodiff';
import { GraphBuildError } from '../core/errors';
import { Graph, Param } from '../core/graph';
import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { clipCoefficient, gradNorm } from '../optim/clip-grad-norm';
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
  /**
   * Dynamic loss scaling for float16 matmuls (torch.cuda.amp.GradScaler's rule): the loss is
   * multiplied by 2^(16 + e) before differentiation and the gradients divided back; a step whose
   * gradients are not finite leaves parameters and optimizer state unchanged and halves the scale;
   * after 2000 finite steps in a row the scale doubles. e and the finite-step count are carried state
   * (`amp.loss_scale_log2`, `amp.good_steps`, both starting at zero); the scale is output as `loss_scale`.
   */
  readonly lossScaling?: boolean;
  /**
   * Per-parameter learning-rate multipliers (e.g. layer-wise decay for fine-tuning): parameter p is
   * updated with lr x lrScale(p), weight decay included (as a PyTorch param group's lr). Default 1.
   */
  readonly lrScale?: (param: Param) => number;
}

export const LOSS_SCALE_STATE = { log2: 'amp.loss_scale_log2', goodSteps: 'amp.good_steps' } as const;
const INITIAL_LOSS_SCALE_LOG2 = 16;
const LOSS_SCALE_GROWTH_INTERVAL = 2000;

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
  const scaling = options.lossScaling ? lossScale(graph) : undefined;
  const grads = grad(
    scaling ? op.mul(terms.loss, scaling.scale) : terms.loss,
    trainable.map((p) => p.tensor),
  );
  const scaledNorm = gradNorm(grads);
  const norm = scaling ? op.div(scaledNorm, scaling.scale) : scaledNorm;
  graph.output('grad_norm', norm);
  // One scalar applies both the clipping coefficient and the loss-scale division (the optimizer folds it in).
  let factor = options.clipGradNorm !== undefined ? clipCoefficient(norm, options.clipGradNorm) : undefined;
  if (scaling) factor = factor ? op.div(factor, scaling.scale) : op.reciprocal(scaling.scale);
  const scaleOf = (p: Param) => options.lrScale?.(p) ?? 1;
  // The optimizer's per-step scalars once per distinct lr scale.
  const sharedByScale = new Map<number, Readonly<Record<string, Tensor>>>();
  const sharedFor = (scale: number) => {
    let shared = sharedByScale.get(scale);
    if (!shared) {
      const scaledLr = scale === 1 ? lr : op.mul(lr, scale);
      shared = graph.withScope('optimizer', () => optimizer.prepare({ lr: scaledLr, step }));
      sharedByScale.set(scale, shared);
    }
    return shared;
  };
  // A non-finite norm (inf or NaN: some gradient overflowed) fails this comparison.
  const finite = scaling && op.less(scaledNorm, 3e38);
  const keepIfOverflow = (updated: Tensor, previous: Tensor) =>
    finite ? op.where(finite, updated, previous) : updated;
  const stateInputs = (p: Param) =>
    optimizer.stateSlots.map((slot) =>
      graph.input(stateInputName(slot, p.name), p.tensor.dtype, p.tensor.shape),
    );
  for (const group of updateGroups(trainable, scaleOf)) {
    const params = group.map((i) => trainable[i]);
    // Small parameters are updated together as one flat vector: the same elementwise arithmetic in
    // a dozen nodes instead of a dozen per parameter (each ORT node costs microseconds to launch).
    const join = (ts: Tensor[]) =>
      ts.length === 1
        ? ts[0]
        : op.concat(
            ts.map((t) => op.reshape(t, [-1])),
            0,
          );
    const value = join(params.map((p) => p.tensor));
    const gradient = join(group.map((i) => grads[i]));
    const inputs = params.map(stateInputs);
    const state: Record<string, Tensor> = {};
    optimizer.stateSlots.forEach((slot, k) => (state[slot] = join(inputs.map((s) => s[k]))));
    const update = graph.withScope('optimizer', () =>
      optimizer.update(params[0], value, gradient, state, sharedFor(scaleOf(params[0])), factor),
    );
    const unjoin = (t: Tensor): Tensor[] =>
      params.length === 1
        ? [t]
        : op
            .split(
              t,
              params.map((p) => numel(p.tensor)),
              0,
            )
            .map((part, j) => op.reshape(part, params[j].tensor.shape as number[]));
    const nextParams = unjoin(keepIfOverflow(update.param, value));
    params.forEach((p, j) => graph.output(`${p.name}${NEXT}`, nextParams[j]));
    optimizer.stateSlots.forEach((slot) => {
      const next = unjoin(keepIfOverflow(update.state[slot], state[slot]));
      params.forEach((p, j) => graph.output(`${stateInputName(slot, p.name)}${NEXT}`, next[j]));
    });
  }
  if (scaling && finite) advanceLossScale(graph, scaling, finite);
  return graph;
}

/** Parameters with at most this many elements share one flat update per weight-decay setting. */
const SMALL_PARAM_ELEMENTS = 65536;

const numel = (t: Tensor) => t.shape.reduce<number>((a, d) => a * (d as number), 1);

/**
 * Indices of the trainable parameters grouped for the optimizer update: every large parameter on its
 * own; the small ones (biases, norms, layer scales, tokens) in one group per weight-decay setting and lr scale,
 * so each group has a single decay rule and learning rate.
 */
function updateGroups(trainable: readonly Param[], scaleOf: (p: Param) => number): number[][] {
  const groups: number[][] = [];
  const small = new Map<string, number[]>();
  trainable.forEach((p, i) => {
    if (numel(p.tensor) > SMALL_PARAM_ELEMENTS || p.tensor.dtype !== 'float32') return groups.push([i]);
    const key = `${p.weightDecay} ${scaleOf(p)}`;
    const group = small.get(key) ?? [];
    group.push(i);
    small.set(key, group);
  });
  return [...groups, ...small.values()];
}

/** The dynamic loss scale: its carried state, and its current value (see lossScaling). */
function lossScale(graph: Graph) {
  const log2 = graph.input(LOSS_SCALE_STATE.log2, 'float32', []);
  const goodSteps = graph.input(LOSS_SCALE_STATE.goodSteps, 'float32', []);
  const scale = op.pow(graph.scalar(2, 'float32'), op.add(log2, INITIAL_LOSS_SCALE_LOG2));
  graph.output('loss_scale', scale);
  return { log2, goodSteps, scale };
}

/** Outputs the next loss-scale state: halve on overflow, double after LOSS_SCALE_GROWTH_INTERVAL finite steps. */
function advanceLossScale(
  graph: Graph,
  { log2, goodSteps }: ReturnType<typeof lossScale>,
  finite: Tensor,
): void {
  const count = op.add(goodSteps, 1);
  const grow = op.not(op.less(count, LOSS_SCALE_GROWTH_INTERVAL));
  const nextLog2 = op.where(finite, op.where(grow, op.add(log2, 1), log2), op.sub(log2, 1));
  graph.output(`${LOSS_SCALE_STATE.log2}${NEXT}`, nextLog2);
  graph.output(`${LOSS_SCALE_STATE.goodSteps}${NEXT}`, op.where(finite, op.where(grow, 0, count), 0));
}
