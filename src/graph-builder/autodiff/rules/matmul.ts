import { GraphBuildError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import * as op from '../../ops';
import { dy0, GradRule, reduceToShape } from '../grad-rule';

/** The permutation that swaps the last two of `rank` dims. */
function last2Swap(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/** Whether x is the output of a Transpose that swaps its input's last two dims (attention's k^T). */
function isLast2Transposed(x: Tensor): boolean {
  const node = x.producer;
  if (node?.spec.opType !== 'Transpose' || x.rank < 2) return false;
  const perm = node.attrs.perm as readonly number[] | undefined;
  return perm !== undefined && perm.every((p, i) => p === last2Swap(x.rank)[i]);
}

/** Swaps the last two dims. x: [..., M, N] -> [..., N, M]; undoes a swap instead of adding one. */
function transposeLast2(x: Tensor): Tensor {
  if (isLast2Transposed(x)) return x.producer!.inputs[0]!;
  return op.transpose(x, last2Swap(x.rank));
}

const sameBatchDims = (a: Tensor, b: Tensor) =>
  a.rank === b.rank && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);

/** Flattens all leading dims: x: [..., K] -> [prod(...), K]. */
const rows = (x: Tensor) => op.reshape(x, [-1, x.shape[x.rank - 1]]);

const matmulRule: GradRule = {
  backward: (ctx) => {
    const [a, b] = ctx.x as Tensor[];
    const g = dy0(ctx);
    if (a.rank >= 2 && b.rank === 2) {
      // The common Linear case, x: [..., K] @ W: [K, N], as 2-D Gemms (no batched matmul + sum).
      const dA = ctx.needs[0]
        ? op.reshape(op.gemm(rows(g), b, undefined, { transB: 1 }), a.shape)
        : undefined;
      const dB = ctx.needs[1] ? op.gemm(rows(a), rows(g), undefined, { transA: 1 }) : undefined;
      return [dA, dB];
    }
    const a2 = a.rank === 1 ? op.unsqueeze(a, [0]) : a;
    const b2 = b.rank === 1 ? op.unsqueeze(b, [1]) : b;
    let g2 = g;
    if (a.rank === 1) g2 = op.unsqueeze(g2, [g2.rank - (b.rank === 1 ? 0 : 1)]);
    if (b.rank === 1) g2 = op.unsqueeze(g2, [g2.rank]);
    const dA = ctx.needs[0]
      ? op.reshape(reduceToShape(op.matmul(g2, transposeLast2(b2)), a2.shape), a.shape)
      : undefined;
    // B = k^T (attention scores): dB = a^T g = (g^T a)^T, so the Transpose rule's swap cancels the
    // outer one and dk comes out of a matmul directly; ORT folds g^T into it (FusedMatMul transA)
    // instead of running a strided [.., d, N] -> [.., N, d] copy.
    const dB = !ctx.needs[1]
      ? undefined
      : isLast2Transposed(b2) && sameBatchDims(a2, b2)
        ? transposeLast2(op.matmul(transposeLast2(g2), a2))
        : op.reshape(reduceToShape(op.matmul(transposeLast2(a2), g2), b2.shape), b.shape);
    return [dA, dB];
  },
};

/** Y = alpha * op(A) @ op(B) + beta * C, each gradient again a single Gemm. */
const gemmRule: GradRule = {
  backward: (ctx) => {
    const [a, b, c] = ctx.x;
    const g = dy0(ctx);
    const {
      alpha = 1,
      beta = 1,
      transA = 0,
      transB = 0,
    } = ctx.node.attrs as Record<string, number | undefined>;
    if (typeof alpha !== 'number' || typeof beta !== 'number')
      throw new GraphBuildError('Gemm: bad attributes');
    const dA =
      ctx.needs[0] &&
      (transA
        ? op.gemm(b!, g, undefined, { alpha, transA: transB, transB: 1 })
        : op.gemm(g, b!, undefined, { alpha, transB: 1 - transB }));
    const dB =
      ctx.needs[1] &&
      (transB
        ? op.gemm(g, a!, undefined, { alpha, transA: 1, transB: transA })
        : op.gemm(a!, g, undefined, { alpha, transA: 1 - transA }));
    const dC = ctx.needs[2] && c ? reduceToShape(beta === 1 ? g : op.mul(g, beta), c.shape) : undefined;
    return [dA || undefined, dB || undefined, dC || undefined];
  },
};

export const MATMUL_RULES: Readonly<Record<string, GradRule>> = { MatMul: matmulRule, Gemm: gemmRule };
