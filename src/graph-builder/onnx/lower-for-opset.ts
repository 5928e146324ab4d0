import { onnx } from 'onnx-proto';
import { GraphBuildError } from '../core/errors';
import type { DType } from '../core/dtype';
import type { Node } from '../core/node';
import type { Tensor } from '../core/tensor';
import { fromNumbers } from '../core/tensor-data';
import { toTensorProto, toTypeProto } from './tensor-proto';

/** Gelu became an ONNX op in opset 20. */
export const GELU_OPSET = 20;

/**
 * Gelu in its Erf form for models below opset 20: y = x * 0.5 * (1 + erf(x / sqrt 2)), five nodes
 * named after the Gelu node and carrying its call site, so errors and placement audits still point
 * at the model code. Constants are shared per dtype through `constant`.
 */
export function lowerGelu(
  node: Node,
  constant: (value: number, dtype: DType) => string,
  /** The name a tensor is written under (graph outputs may rename node outputs). */
  nameOf: (t: Tensor) => string = (t) => t.name,
): { nodes: onnx.NodeProto[]; valueInfo: onnx.ValueInfoProto[] } {
  const x = node.inputs[0]!;
  if (x.dtype !== 'float32' && x.dtype !== 'float64') {
    throw new GraphBuildError(
      `Gelu on ${x.dtype} needs opset ${GELU_OPSET} or newer (its Erf form below ${GELU_OPSET} is float32/float64 only) at ${node.callSite}`,
    );
  }
  const y = nameOf(node.outputs[0]);
  const xName = nameOf(x);
  const part = (step: string) => `${node.name}/erf_form/${step}`;
  const make = (step: string, opType: string, input: string[], output: string) =>
    onnx.NodeProto.create({ name: part(step), opType, input, output: [output], docString: node.callSite });
  const nodes = [
    make('scale', 'Mul', [xName, constant(Math.SQRT1_2, x.dtype)], part('scaled')),
    make('erf', 'Erf', [part('scaled')], part('erf')),
    make('shift', 'Add', [part('erf'), constant(1, x.dtype)], part('shifted')),
    make('gate', 'Mul', [xName, part('shifted')], part('gated')),
    make('half', 'Mul', [part('gated'), constant(0.5, x.dtype)], y),
  ];
  const type = toTypeProto(x.dtype, x.shape);
  const valueInfo = ['scaled', 'erf', 'shifted', 'gated'].map((step) =>
    onnx.ValueInfoProto.create({ name: part(step), type }),
  );
  return { nodes, valueInfo };
}

/** Scalar initializers for lowered nodes, one per (value, dtype). */
export function scalarConstants(): {
  constant: (value: number, dtype: DType) => string;
  initializers: onnx.TensorProto[];
} {
  const names = new Map<string, string>();
  const initializers: onnx.TensorProto[] = [];
  const constant = (value: number, dtype: DType) => {
    const key = `${dtype}:${value}`;
    let name = names.get(key);
    if (!name) {
      name = `lowered_const_${names.size}`;
      names.set(key, name);
      initializers.push(toTensorProto(name, fromNumbers(dtype, [], [value])));
    }
    return name;
  };
  return { constant, initializers };
}
