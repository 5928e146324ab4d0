import type { Attrs } from './attributes';
import type { OpSpec } from './op-spec';
import type { Tensor } from './tensor';

/** One ONNX node as traced: inputs may be missing (optional ONNX inputs), outputs are fresh tensors. */
export interface Node {
  readonly spec: OpSpec;
  readonly name: string;
  readonly inputs: readonly (Tensor | undefined)[];
  readonly attrs: Attrs;
  readonly outputs: Tensor[];
  /** Where the model code built this node (file:line), for errors at build and run time. */
  readonly callSite: string;
}
