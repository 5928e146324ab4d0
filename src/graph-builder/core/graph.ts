import type { Attrs } from './attributes';
import { userCallSite } from './call-site';
import { DType } from './dtype';
import { buildError, GraphBuildError, ShapeError } from './errors';
import type { Node } from './node';
import { IDENTITY } from './identity';
import type { OpSpec } from './op-spec';
import { formatShape, isStatic, sameShape, Shape } from './shape';
import { Tensor } from './tensor';
import { fromNumbers, sizeOf, TensorData, toNumbers } from './tensor-data';

/** How a parameter is initialized when a build writes its first checkpoint (see artifacts/). */
export type InitSpec =
  | { readonly kind: 'zeros' }
  | { readonly kind: 'ones' }
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'xavier_uniform'; readonly fanIn: number; readonly fanOut: number }
  /** Normal(0, std) truncated to [-limit * std, limit * std] by resampling (CAE's trunc_normal_ uses limit 1). */
  | { readonly kind: 'trunc_normal'; readonly std: number; readonly limit?: number }
  | { readonly kind: 'normal'; readonly std: number };

export interface ParamOptions {
  readonly init?: InitSpec;
  readonly trainable?: boolean;
  /** AdamW weight decay applies; the reference skips 1-D tensors and biases. Default: rank > 1. */
  readonly weightDecay?: boolean;
}

export interface Param {
  readonly name: string;
  readonly tensor: Tensor;
  readonly init: InitSpec;
  readonly trainable: boolean;
  readonly weightDecay: boolean;
}

export interface GraphOutput {
  readonly name: string;
  readonly tensor: Tensor;
}

const SMALL_CONSTANT = 16;
/** Constant folding may create outputs up to this many elements larger than its inputs. */
const FOLD_GROWTH_LIMIT = 1024;

/**
 * A traced ONNX graph under construction. Model code calls ops on symbolic tensors; each op appends a
 * node here after checking shapes. Scopes give parameters their dotted names
 * (`encoder.blocks.3.attn.qkv.weight`) and nodes their debugging names.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly params: Param[] = [];
  readonly outputs: GraphOutput[] = [];
  private readonly scopes: string[] = [];
  private readonly names = new Set<string>();
  private readonly smallConstants = new Map<string, Tensor>();
  private counter = 0;
  private callSiteOverride?: string;
  private reusing = false;

  /**
   * Mixed precision: when 'float16', the modules run their matmuls (Linear, attention) on float16
   * casts of their float32 inputs and cast the results back (autocast); parameters, normalization,
   * softmax, losses and the optimizer stay float32. Set by the model builder before tracing.
   */
  matmulDtype: 'float32' | 'float16' = 'float32';

  constructor(readonly name = 'main') {}

  /** The current dotted scope, e.g. `encoder.blocks.3`. */
  get scope(): string {
    return this.scopes.join('.');
  }

  /** Runs fn with `name` appended to the scope; parameters and nodes made inside are named under it. */
  withScope<T>(name: string | number, fn: () => T): T {
    this.scopes.push(String(name));
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * Runs fn with nodes attributed to `callSite` instead of the caller: gradient nodes name the model
   * code of the forward op they differentiate.
   */
  withCallSite<T>(callSite: string, fn: () => T): T {
    const previous = this.callSiteOverride;
    this.callSiteOverride = callSite;
    try {
      return fn();
    } finally {
      this.callSiteOverride = previous;
    }
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphBuildError(`the name '${name}' is already used in this graph`);
    this.names.add(name);
    return name;
  }

  private scoped(name: string): string {
    return this.scope ? `${this.scope}.${name}` : name;
  }

  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = new Tensor(this, this.claim(name), dtype, [...shape], 'input');
    this.inputs.push(t);
    return t;
  }

  /**
   * Runs fn with parameter declarations resolving to the parameters already declared under the same
   * names (weight sharing, e.g. CAE's alignment pass through the encoder); declaring a new one is an error.
   */
  reuseParams<T>(fn: () => T): T {
    const previous = this.reusing;
    this.reusing = true;
    try {
      return fn();
    } finally {
      this.reusing = previous;
    }
  }

  /** A parameter named under the current scope. Its value lives outside the graph (a checkpoint). */
  param(
    name: string,
    shape: readonly number[],
    options: ParamOptions = {},
    dtype: DType = 'float32',
  ): Tensor {
    if (this.reusing) {
      const existing = this.params.find((p) => p.name === this.scoped(name));
      if (!existing) throw new GraphBuildError(`no parameter '${this.scoped(name)}' to reuse`);
      if (!sameShape(existing.tensor.shape, shape)) {
        throw new GraphBuildError(`parameter '${existing.name}' reused with shape ${formatShape(shape)}`);
      }
      return existing.tensor;
    }
    const full = this.claim(this.scoped(name));
    const t = new Tensor(this, full, dtype, [...shape], 'param');
    this.params.push({
      name: full,
      tensor: t,
      init: options.init ?? { kind: 'zeros' },
      trainable: options.trainable ?? true,
      weightDecay: options.weightDecay ?? shape.length > 1,
    });
    return t;
  }

  /** A constant tensor; small constants with equal values are shared. */
  constant(value: TensorData, nameHint = 'const'): Tensor {
    const small = value.data.length <= SMALL_CONSTANT;
    const key = small ? `${value.dtype}${formatShape(value.shape)}${toNumbers(value).join(',')}` : '';
    const cached = small ? this.smallConstants.get(key) : undefined;
    if (cached) return cached;
    const t = new Tensor(
      this,
      this.claim(this.uniqueName(nameHint)),
      value.dtype,
      [...value.shape],
      'constant',
      undefined,
      value,
    );
    if (small) this.smallConstants.set(key, t);
    return t;
  }

  scalar(value: number, dtype: DType): Tensor {
    return this.constant(fromNumbers(dtype, [], [value]));
  }

  /** A 1-D int64 constant (shapes, axes, indices). */
  int64s(values: readonly number[]): Tensor {
    return this.constant(fromNumbers('int64', [values.length], values));
  }

  /** Declares a graph output named `name` (an Identity keeps graph-output names independent of nodes). */
  output(name: string, tensor: Tensor): void {
    if (tensor.graph !== this) throw new GraphBuildError(`output '${name}' comes from another graph`);
    const [identity] = this.nodeFor(
      IDENTITY,
      [tensor],
      {},
      [{ dtype: tensor.dtype, shape: tensor.shape }],
      name,
    );
    this.outputs.push({ name, tensor: identity });
  }

  private uniqueName(base: string): string {
    const prefix = this.scope ? `${this.scope}/` : '';
    return `${prefix}${base}_${this.counter++}`;
  }

  /** Appends a node after shape inference; folds it to constants where trivial. */
  addNode<A extends Attrs>(
    spec: OpSpec<A>,
    inputs: readonly (Tensor | undefined)[],
    attrs: A,
    numOutputs = 1,
  ): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this) {
        throw new GraphBuildError(`${spec.opType}: input ${t.name} belongs to another graph`, spec.opType);
      }
    }
    let types;
    try {
      types = spec.infer(inputs, attrs, numOutputs);
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      const described = inputs.map((t) => (t ? `${t.dtype}${formatShape(t.shape)}` : '(none)')).join(', ');
      throw buildError(spec.opType, `${e.message} (inputs: ${described})`);
    }
    const folded = this.tryFold(spec, inputs, attrs, types);
    if (folded) return folded.map((v) => this.constant(v, `${spec.opType}_folded`));
    return this.nodeFor(spec, inputs, attrs, types);
  }

  /**
   * Makes an existing node produce `count` outputs (e.g. LayerNormalization's saved statistics for
   * its gradient), re-running its shape inference; returns all outputs.
   */
  requestOutputs(node: Node, count: number): Tensor[] {
    if (node.outputs.length >= count) return node.outputs;
    const types = node.spec.infer(node.inputs, node.attrs, count);
    for (let i = node.outputs.length; i < count; i++) {
      const name = this.claim(`${node.name}:out${i}`);
      node.outputs.push(new Tensor(this, name, types[i].dtype, [...types[i].shape], 'intermediate', node));
    }
    return node.outputs;
  }

  private tryFold<A extends Attrs>(
    spec: OpSpec<A>,
    inputs: readonly (Tensor | undefined)[],
    attrs: A,
    types: { dtype: DType; shape: Shape }[],
  ): TensorData[] | undefined {
    const always = spec.foldAlways?.(inputs, attrs);
    if (always) return always;
    if (!spec.fold || inputs.some((t) => t && !t.value)) return undefined;
    // Folding must not grow the model: an Expand of a scalar to [B, N, D] stays a node.
    const largestInput = Math.max(0, ...inputs.map((t) => t?.value?.data.length ?? 0));
    const outputSize = Math.max(...types.map((t) => (isStatic(t.shape) ? sizeOf(t.shape) : Infinity)));
    if (outputSize > Math.max(largestInput, FOLD_GROWTH_LIMIT)) return undefined;
    return spec.fold(
      inputs.map((t) => t?.value),
      attrs,
      types,
    );
  }

  private nodeFor<A extends Attrs>(
    spec: OpSpec<A>,
    inputs: readonly (Tensor | undefined)[],
    attrs: A,
    types: readonly { dtype: DType; shape: Shape }[],
    outputName?: string,
  ): Tensor[] {
    const nodeName = this.uniqueName(spec.opType);
    const outputs: Tensor[] = [];
    const node: Node = {
      spec: spec as unknown as OpSpec,
      name: this.claim(nodeName),
      inputs,
      attrs,
      outputs,
      callSite: this.callSiteOverride ?? userCallSite(),
    };
    types.forEach((type, i) => {
      const name = outputName ?? (types.length === 1 ? `${nodeName}:out` : `${nodeName}:out${i}`);
      outputs.push(new Tensor(this, this.claim(name), type.dtype, [...type.shape], 'intermediate', node));
    });
    this.nodes.push(node);
    return outputs;
  }
}
