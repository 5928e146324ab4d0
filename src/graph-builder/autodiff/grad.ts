import { isFloat } from '../core/dtype';
import { GraphBuildError } from '../core/errors';
import type { Node } from '../core/node';
import { formatShape, sameShape } from '../core/shape';
import type { Tensor } from '../core/tensor';
import * as op from '../ops';
import { GradRule, zeros } from './grad-rule';
import { GRAD_RULES } from './rules';

/** Raised when differentiation reaches an op that has no entry in the gradient table. */
export class NoGradientRuleError extends GraphBuildError {
  override name = 'NoGradientRuleError';
}

function ruleFor(node: Node): GradRule {
  const rule = GRAD_RULES.get(node.spec.opType);
  if (!rule) {
    throw new NoGradientRuleError(
      `no gradient rule for ${node.spec.opType} (node ${node.name}, built at ${node.callSite})`,
      node.spec.opType,
      node.callSite,
    );
  }
  return rule;
}

const differentiableInput = (rule: GradRule | undefined, i: number) =>
  !rule || (!('zero' in rule) && !(rule.nondifferentiable ?? []).includes(i));

/**
 * Tensors whose value depends on any of `wrt` through differentiable inputs (an op without a rule
 * counts as differentiable here; it is an error only if the backward pass reaches it).
 */
function dependents(nodes: readonly Node[], wrt: readonly Tensor[]): Set<Tensor> {
  const out = new Set<Tensor>(wrt);
  for (const node of nodes) {
    const rule = GRAD_RULES.get(node.spec.opType);
    const touched = node.inputs.some((t, i) => t && out.has(t) && differentiableInput(rule, i));
    if (touched) for (const y of node.outputs) if (isFloat(y.dtype)) out.add(y);
  }
  return out;
}

/** Nodes between `wrt` and `loss`: those whose outputs depend on wrt and that loss depends on. */
function pathNodes(loss: Tensor, depends: Set<Tensor>): Set<Node> {
  const nodes = new Set<Node>();
  const stack = [loss];
  const seen = new Set<Tensor>();
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t) || !depends.has(t) || !t.producer) continue;
    seen.add(t);
    nodes.add(t.producer);
    for (const i of t.producer.inputs) if (i) stack.push(i);
  }
  return nodes;
}

/**
 * Reverse-mode differentiation of `loss` with respect to each of `wrt`, emitted as ordinary ONNX
 * nodes in the same graph. Gradients of tensors used several times are summed; only nodes on a
 * path from `wrt` to `loss` are differentiated; `seed` (default ones) is dLoss. A `wrt` that the loss
 * does not depend on gets zeros.
 */
export function grad(loss: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  const graph = loss.graph;
  if (!isFloat(loss.dtype))
    throw new GraphBuildError(`cannot differentiate ${loss.dtype} tensor ${loss.name}`);
  const depends = dependents(graph.nodes, wrt);
  const onPath = pathNodes(loss, depends);
  const pending = new Map<Tensor, Tensor[]>();
  const total = (t: Tensor): Tensor | undefined => {
    const parts = pending.get(t);
    if (!parts || parts.length === 0) return undefined;
    const summed = parts.length === 1 ? parts[0] : op.sum(...parts);
    pending.set(t, [summed]);
    return summed;
  };
  const one = graph.scalar(1, loss.dtype);
  pending.set(loss, [seed ?? (loss.rank === 0 ? one : op.expand(one, loss.shape))]);

  const nodes = graph.nodes.filter((n) => onPath.has(n)).reverse();
  graph.withScope('grad', () => {
    for (const node of nodes) {
      const dy = node.outputs.map(total);
      if (dy.every((g) => g === undefined)) continue;
      const rule = ruleFor(node);
      if ('zero' in rule) continue;
      const needs = node.inputs.map((t, i) => !!t && depends.has(t) && differentiableInput(rule, i));
      const dx = graph.withCallSite(`${node.callSite} (gradient of ${node.spec.opType})`, () =>
        rule.backward({ node, x: node.inputs, y: node.outputs, dy, needs }),
      );
      node.inputs.forEach((x, i) => {
        const g = dx[i];
        if (!x || !needs[i] || !g) return;
        if (g.dtype !== x.dtype || !sameShape(g.shape, x.shape)) {
          throw new GraphBuildError(
            `gradient rule for ${node.spec.opType} returned ${g.dtype}${formatShape(g.shape)} for input ${i}, ` +
              `expected ${x.dtype}${formatShape(x.shape)}`,
            node.spec.opType,
            node.callSite,
          );
        }
        pending.set(x, [...(pending.get(x) ?? []), g]);
      });
    }
  });
  return wrt.map((t) => total(t) ?? zeros(t, t));
}
