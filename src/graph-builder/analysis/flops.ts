import type { Graph } from '../core/graph';
import type { Node } from '../core/node';
import type { Tensor } from '../core/tensor';

const size = (dims: readonly (number | string)[]) =>
  dims.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);

/** A row of ones expanded from the scalar 1: `ones @ g` is a sum written as a matmul (reduceToShape). */
function isOnesRow(t: Tensor): boolean {
  const source = t.producer?.spec.opType === 'Expand' ? t.producer.inputs[0] : undefined;
  return source?.value !== undefined && source.value.data.length === 1 && Number(source.value.data[0]) === 1;
}

/**
 * Multiply-add FLOPs (2 per MAC) of one MatMul, Gemm or Conv node; 0 for other ops, and for sums
 * written as `ones @ g` (they are reductions of the model, not its matmuls, and would inflate MFU).
 */
export function nodeMatmulFlops(node: Node): number {
  const out = node.outputs[0];
  switch (node.spec.opType) {
    case 'MatMul': {
      const a = node.inputs[0]!;
      if (isOnesRow(a)) return 0;
      return 2 * size(out.shape) * (a.shape[a.rank - 1] as number);
    }
    case 'Gemm': {
      const a = node.inputs[0]!;
      const k = node.attrs.transA ? a.shape[0] : a.shape[1];
      return 2 * size(out.shape) * (k as number);
    }
    case 'Conv': {
      const w = node.inputs[1]!;
      return 2 * size(out.shape) * size(w.shape.slice(1));
    }
    default:
      return 0;
  }
}

/**
 * Matmul FLOPs of everything a graph's outputs depend on, counted from the traced nodes (so a train
 * step counts forward, backward and the forward-only stop-gradient branches exactly as built).
 * Dynamic dims count as 1.
 */
export function matmulFlops(graph: Graph): number {
  const live = new Set<Node>();
  const stack = graph.outputs.map((o) => o.tensor);
  const seen = new Set(stack);
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (!t.producer || live.has(t.producer)) continue;
    live.add(t.producer);
    for (const i of t.producer.inputs) {
      if (i && !seen.has(i)) {
        seen.add(i);
        stack.push(i);
      }
    }
  }
  let total = 0;
  for (const n of live) total += nodeMatmulFlops(n);
  return total;
}
