import { DType } from './dtype';
import { formatShape, Shape } from './shape';
import type { Graph } from './graph';
import type { Node } from './node';
import type { TensorData } from './tensor-data';

export type TensorKind = 'input' | 'param' | 'constant' | 'intermediate';

/**
 * A symbolic tensor in a traced graph: element type, static shape (named dynamic dims allowed), and
 * where it came from. Constants carry their value so that shape-carrying inputs (Reshape targets,
 * axes, indices) are known at build time and trivial ops on them fold away.
 */
export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: TensorKind,
    readonly producer?: Node,
    readonly value?: TensorData,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

/** What ops accept where a tensor is expected: a JS number becomes a scalar constant of the peer dtype. */
export type TensorLike = Tensor | number;
