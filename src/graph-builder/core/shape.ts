import { ShapeError } from './errors';

/** A dimension: a static size, or a named dynamic size (e.g. 'batch'). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

export function staticSize(shape: Shape): number {
  if (!isStatic(shape)) throw new ShapeError(`shape ${formatShape(shape)} has dynamic dimensions`);
  return shape.reduce((a, b) => a * b, 1);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Resolves a possibly negative axis against a rank, with a clear error when out of range. */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(`axis ${axis} is out of range for rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  throw new ShapeError(`dimensions ${a} and ${b} do not broadcast`);
}

/** Numpy (multidirectional) broadcasting of any number of shapes. */
export function broadcastShapes(...shapes: Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const k = i - (rank - s.length);
      if (k >= 0) {
        try {
          dim = broadcastDim(dim, s[k]);
        } catch {
          throw new ShapeError(`shapes ${shapes.map(formatShape).join(' and ')} do not broadcast`);
        }
      }
    }
    out.push(dim);
  }
  return out;
}
