/** Elementwise ONNX operators: broadcasting binary ops, unary ops, Where, Clip and Cast. */
import { NDArray, broadcastAll, broadcastGet, fromFunction } from './ndarray';

/** Applies `f` elementwise after numpy-style broadcasting of all inputs. */
export function broadcastMap(inputs: readonly NDArray[], f: (...values: number[]) => number): NDArray {
  const shape = broadcastAll(...inputs.map((x) => x.shape));
  return fromFunction(shape, (idx) => f(...inputs.map((x) => broadcastGet(x, idx))));
}

/** Applies `f` to every element (shape unchanged). */
export function unaryMap(x: NDArray, f: (v: number) => number): NDArray {
  return { shape: [...x.shape], data: x.data.map(f) };
}

export const add = (a: NDArray, b: NDArray): NDArray => broadcastMap([a, b], (x, y) => x + y);
export const sub = (a: NDArray, b: NDArray): NDArray => broadcastMap([a, b], (x, y) => x - y);
export const mul = (a: NDArray, b: NDArray): NDArray => broadcastMap([a, b], (x, y) => x * y);
/** Floating-point division (integer tensors would truncate in ONNX; not modelled here). */
export const div = (a: NDArray, b: NDArray): NDArray => broadcastMap([a, b], (x, y) => x / y);
export const pow = (a: NDArray, b: NDArray): NDArray => broadcastMap([a, b], (x, y) => Math.pow(x, y));
/** ONNX Max: variadic, broadcasting; NaN propagates. */
export const max = (...xs: NDArray[]): NDArray => broadcastMap(xs, (...v) => Math.max(...v));
/** ONNX Equal: 1 where equal, else 0. */
export const equal = (a: NDArray, b: NDArray): NDArray => broadcastMap([a, b], (x, y) => (x === y ? 1 : 0));
/** ONNX Where: cond (nonzero = true) ? x : y, with 3-way broadcasting. */
export const where = (cond: NDArray, x: NDArray, y: NDArray): NDArray =>
  broadcastMap([cond, x, y], (c, a, b) => (c !== 0 ? a : b));

export const neg = (x: NDArray): NDArray => unaryMap(x, (v) => -v);
export const exp = (x: NDArray): NDArray => unaryMap(x, Math.exp);
export const log = (x: NDArray): NDArray => unaryMap(x, Math.log);
export const sqrt = (x: NDArray): NDArray => unaryMap(x, Math.sqrt);
export const tanh = (x: NDArray): NDArray => unaryMap(x, Math.tanh);
export const identity = (x: NDArray): NDArray => unaryMap(x, (v) => v);
export const erf = (x: NDArray): NDArray => unaryMap(x, erfScalar);
/** Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
export const gelu = (x: NDArray): NDArray => unaryMap(x, (v) => 0.5 * v * (1 + erfScalar(v * Math.SQRT1_2)));

/**
 * Error function, accurate to ~1e-15 absolute.
 *
 * - |x| < 3: erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_{n>=0} 2^n x^(2n+1) / (1*3*...*(2n+1)).
 *   All terms are positive, so there is no cancellation.
 * - |x| >= 3: erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + ...)))),
 *   a continued fraction evaluated bottom-up at a fixed depth (converges quickly for x >= 3).
 */
export function erfScalar(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erfScalar(-x);
  if (x < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  if (x > 6) return 1; // erfc(6) ~ 2e-17, below double resolution near 1
  let k = x;
  for (let n = 80; n >= 1; n--) k = x + n / 2 / k;
  const erfc = Math.exp(-x * x) / Math.sqrt(Math.PI) / k;
  return 1 - erfc;
}

/** ONNX Clip with optional scalar bounds. If min > max every value becomes max (as in ONNX). */
export function clip(x: NDArray, min?: number, max?: number): NDArray {
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  return unaryMap(x, (v) => (Number.isNaN(v) ? v : Math.min(hi, Math.max(lo, v))));
}

export type CastTarget = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

/** ONNX Cast: float->int truncates toward zero; ->bool is x != 0; ->float32 rounds to nearest float32. */
export function cast(x: NDArray, to: CastTarget): NDArray {
  switch (to) {
    case 'float32':
      return unaryMap(x, Math.fround);
    case 'float64':
      return identity(x);
    case 'int64':
    case 'int32':
      return unaryMap(x, (v) => Math.trunc(v) + 0); // + 0 turns -0 into 0
    case 'bool':
      return unaryMap(x, (v) => (v !== 0 ? 1 : 0));
  }
}
