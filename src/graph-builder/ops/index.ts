/**
 * Typed constructors for the ONNX ops the builder supports (positional inputs, keyword attributes),
 * and the table of their specs keyed by ONNX op type.
 */
import { OpSpec } from '../core/op-spec';
import * as conv from './conv';
import * as elementwise from './elementwise';
import * as indexing from './indexing';
import * as matmul from './matmul';
import * as normalization from './normalization';
import * as reduce from './reduce';
import * as shapeOps from './shape-ops';

export * from './conv';
export * from './elementwise';
export * from './indexing';
export * from './matmul';
export * from './normalization';
export * from './reduce';
export * from './shape-ops';

function specsOf(module: Record<string, unknown>): OpSpec[] {
  return Object.values(module).filter(
    (v): v is OpSpec => typeof v === 'object' && v !== null && 'opType' in v && 'infer' in v,
  );
}

/** Every op spec, keyed by ONNX op type. */
export const OP_SPECS: ReadonlyMap<string, OpSpec> = new Map(
  [conv, elementwise, indexing, matmul, normalization, reduce, shapeOps]
    .flatMap(specsOf)
    .map((s) => [s.opType, s]),
);
