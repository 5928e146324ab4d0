import type { onnx } from 'onnx-proto';

/** What a node does, for deciding whether it may run off the GPU. */
export type NodeKind =
  /** touches a float tensor of more than one element: activations, weights, gradients, state */
  | 'compute'
  /** only int64/bool tensors or scalars: shapes, indices, masks, step counters */
  | 'shape'
  /** a host<->device copy ORT inserted */
  | 'copy';

const FLOAT_CODES = new Set([1, 10, 11, 16]); // float, float16, double, bfloat16

interface TensorFacts {
  readonly float: boolean;
  /** Elements, when every dim is static; named dims count as many. */
  readonly elements: number;
}

/** dtype and size of every named tensor of a model: inputs, outputs, value_info, initializers. */
export function tensorFacts(model: onnx.IModelProto): Map<string, TensorFacts> {
  const facts = new Map<string, TensorFacts>();
  const graph = model.graph ?? {};
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
    const t = v.type?.tensorType;
    if (!v.name || !t) continue;
    const dims = t.shape?.dim ?? [];
    const elements = dims.reduce((n, d) => n * (d.dimParam ? Infinity : Number(d.dimValue ?? 0)), 1);
    facts.set(v.name, { float: FLOAT_CODES.has(t.elemType ?? 0), elements });
  }
  for (const t of graph.initializer ?? []) {
    if (!t.name) continue;
    const elements = (t.dims ?? []).reduce<number>((n, d) => n * Number(d), 1);
    facts.set(t.name, { float: FLOAT_CODES.has(t.dataType ?? 0), elements });
  }
  return facts;
}

/**
 * Classifies a node: 'compute' when one of its tensors is a float tensor of more than one element,
 * 'shape' when none is. Tensors the model does not describe are judged by the node's other tensors;
 * a node with none described counts as compute (cautious).
 */
export function nodeKind(node: onnx.INodeProto, facts: ReadonlyMap<string, TensorFacts>): NodeKind {
  if (node.opType?.startsWith('Memcpy')) return 'copy';
  const tensors = [...(node.input ?? []), ...(node.output ?? [])].filter((n) => n.length > 0);
  const known = tensors.map((name) => facts.get(name)).filter((f) => f !== undefined);
  if (known.length === 0) return 'compute';
  return known.some((f) => f.float && f.elements > 1) ? 'compute' : 'shape';
}

/** Op types that only move shapes or indices, for nodes ORT made that the model does not describe. */
const SHAPE_OPS = new Set(['Shape', 'Size', 'Range', 'ConstantOfShape']);

/** The kind of a node ORT created during optimization (fused or inserted), judged by its op type. */
export function createdNodeKind(opType: string): NodeKind {
  if (opType.startsWith('Memcpy')) return 'copy';
  return SHAPE_OPS.has(opType) ? 'shape' : 'compute';
}
