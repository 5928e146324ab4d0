import { onnx } from 'onnx-proto';
import type { AttrKind, AttrValue } from '../core/attributes';
import { GraphBuildError } from '../core/errors';
import type { Graph } from '../core/graph';
import type { Node } from '../core/node';
import { formatShape, sameShape } from '../core/shape';
import type { Tensor } from '../core/tensor';
import type { TensorData } from '../core/tensor-data';
import { GELU_OPSET, lowerGelu, scalarConstants } from './lower-for-opset';
import { toTensorProto, toTypeProto } from './tensor-proto';

export const DEFAULT_OPSET = 21;
/** Opsets our graphs can be written at: ReduceMean/Split take axes/sizes as inputs from 18; Gelu is lowered below 20. */
export const SUPPORTED_OPSETS = [18, 19, 20, 21] as const;

/** Why an opset cannot be written, or undefined when it can. */
export function unsupportedOpset(opset: number): string | undefined {
  return (SUPPORTED_OPSETS as readonly number[]).includes(opset)
    ? undefined
    : `opset ${opset} is not supported: our graphs use opset-18 op forms; choose ${SUPPORTED_OPSETS.join(', ')}`;
}
export const IR_VERSION = 10;

export interface SerializeOptions {
  /** 'inputs': parameters become graph inputs (training graphs); 'initializers': weights embedded. */
  readonly paramsAs: 'inputs' | 'initializers';
  /** Parameter values, required for 'initializers'. */
  readonly paramValues?: ReadonlyMap<string, TensorData>;
  readonly opset?: number;
  readonly docString?: string;
  /** Key-value metadata stored in the model (e.g. the input normalization of an encoder). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The cae-onnx version recorded in files it writes (artifacts/version.ts; absent in memory-only models). */
  readonly producerVersion?: string;
}

/** The nodes, constants and parameters that the graph outputs depend on, in trace order. */
function liveSet(graph: Graph): { nodes: Node[]; tensors: Set<Tensor> } {
  const live = new Set<Tensor>();
  const liveNodes = new Set<Node>();
  const stack = graph.outputs.map((o) => o.tensor);
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (live.has(t)) continue;
    live.add(t);
    if (t.producer && !liveNodes.has(t.producer)) {
      liveNodes.add(t.producer);
      for (const i of t.producer.inputs) if (i) stack.push(i);
    }
  }
  return { nodes: graph.nodes.filter((n) => liveNodes.has(n)), tensors: live };
}

/**
 * Graph outputs written without their Identity: `Graph.output` adds an Identity so that output names
 * do not depend on node names, but at run time that Identity copies the tensor (a training step's
 * parameters and optimizer state, every step). Where the Identity's input is a node output that no
 * other output claimed, that node output takes the graph output's name and the Identity is left out.
 * Returns the new names and the Identity nodes to leave out.
 */
function outputRenames(graph: Graph): { names: Map<Tensor, string>; dropped: Set<Node> } {
  const names = new Map<Tensor, string>();
  const dropped = new Set<Node>();
  for (const o of graph.outputs) {
    const identity = o.tensor.producer;
    const source = identity?.inputs[0];
    const producer = source?.producer;
    if (!identity || identity.spec.opType !== 'Identity' || !source || !producer || names.has(source))
      continue;
    names.set(source, o.name);
    dropped.add(identity);
  }
  return { names, dropped };
}

function attributeProto(name: string, kind: AttrKind, value: AttrValue): onnx.AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (kind) {
    case 'int':
      return onnx.AttributeProto.create({ name, type: T.INT, i: value as number });
    case 'float':
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value as number });
    case 'string':
      return onnx.AttributeProto.create({
        name,
        type: T.STRING,
        s: new TextEncoder().encode(value as string),
      });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: [...(value as number[])] });
    case 'floats':
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: [...(value as number[])] });
    case 'tensor':
      return onnx.AttributeProto.create({
        name,
        type: T.TENSOR,
        t: toTensorProto(name, value as TensorData),
      });
  }
}

function nodeProto(node: Node, nameOf: (t: Tensor) => string): onnx.NodeProto {
  const inputs = node.inputs.map((t) => (t ? nameOf(t) : ''));
  while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
  const attribute = Object.entries(node.attrs)
    .filter((entry): entry is [string, AttrValue] => entry[1] !== undefined)
    .map(([name, value]) => attributeProto(name, node.spec.attrKinds[name], value));
  return onnx.NodeProto.create({
    name: node.name,
    opType: node.spec.onnxOpType ?? node.spec.opType,
    input: inputs,
    output: node.outputs.map(nameOf),
    attribute,
    docString: node.callSite,
  });
}

const valueInfo = (t: Tensor) =>
  onnx.ValueInfoProto.create({ name: t.name, type: toTypeProto(t.dtype, t.shape) });

/**
 * Serializes a traced graph into an ONNX ModelProto (IR 10, ai.onnx opset 21 by default). Below
 * opset 20, Gelu is written in its Erf form (lower-for-opset.ts).
 */
export function toModelProto(graph: Graph, options: SerializeOptions): onnx.ModelProto {
  const { nodes, tensors } = liveSet(graph);
  const initializer: onnx.TensorProto[] = [];
  const paramInputs: Tensor[] = [];
  for (const p of graph.params) {
    if (options.paramsAs === 'inputs') {
      paramInputs.push(p.tensor);
      continue;
    }
    if (!tensors.has(p.tensor)) continue;
    const value = options.paramValues?.get(p.name);
    if (!value) throw new GraphBuildError(`no value given for parameter '${p.name}'`);
    if (value.dtype !== p.tensor.dtype || !sameShape(value.shape, p.tensor.shape)) {
      throw new GraphBuildError(
        `parameter '${p.name}' is ${p.tensor.dtype}${formatShape(p.tensor.shape)}, value is ${value.dtype}${formatShape(value.shape)}`,
      );
    }
    initializer.push(toTensorProto(p.name, value));
  }
  for (const t of tensors) {
    if (t.kind === 'constant') initializer.push(toTensorProto(t.name, t.value!));
  }
  const opset = options.opset ?? DEFAULT_OPSET;
  const renames = outputRenames(graph);
  const nameOf = (t: Tensor) => renames.names.get(t) ?? t.name;
  const kept = nodes.filter((n) => !renames.dropped.has(n));
  const outputs = new Set(graph.outputs.map((o) => o.tensor));
  const intermediates = kept
    .flatMap((n) => n.outputs)
    .filter((t) => !outputs.has(t) && !renames.names.has(t));
  const lowered = scalarConstants();
  const loweredInfo: onnx.ValueInfoProto[] = [];
  const nodeProtos = kept.flatMap((n) => {
    if (n.spec.opType !== 'Gelu' || opset >= GELU_OPSET) return [nodeProto(n, nameOf)];
    const { nodes: erfForm, valueInfo } = lowerGelu(n, lowered.constant, nameOf);
    loweredInfo.push(...valueInfo);
    return erfForm;
  });
  initializer.push(...lowered.initializers);
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'cae-onnx',
    producerVersion: options.producerVersion,
    docString: options.docString,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: graph.name,
      node: nodeProtos,
      input: [...graph.inputs, ...paramInputs].map(valueInfo),
      output: graph.outputs.map((o) => valueInfo(o.tensor)),
      initializer,
      valueInfo: [...intermediates.map(valueInfo), ...loweredInfo],
    },
  });
}
