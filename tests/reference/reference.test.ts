/** Hand-computed checks that make the naive ONNX reference implementation trustworthy. */
import {
  NDArray,
  add,
  broadcastGet,
  broadcastShapes,
  cast,
  clip,
  concat,
  conv,
  div,
  equal,
  erf,
  erfScalar,
  exp,
  expand,
  gather,
  gatherElements,
  gemm,
  identity,
  indexToOffset,
  layerNormalization,
  log,
  logSoftmax,
  matmul,
  max,
  mul,
  nd,
  neg,
  offsetToIndex,
  oneHot,
  pow,
  randomNd,
  reduceMax,
  reduceMean,
  reduceSum,
  reshape,
  scatterElements,
  seededRandom,
  shape,
  slice,
  softmax,
  split,
  sqrt,
  squeeze,
  strides,
  sub,
  tanh,
  toNested,
  transpose,
  unsqueeze,
  where,
} from './index';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Exact comparison of shape and values. */
function expectNd(actual: NDArray, expectedShape: number[], expected: number[]): void {
  expect(actual.shape).toEqual(expectedShape);
  expect(Array.from(actual.data)).toEqual(expected);
}

/** Shape must match exactly, values to `digits` decimal places. */
function expectNdClose(actual: NDArray, expectedShape: number[], expected: number[], digits = 12): void {
  expect(actual.shape).toEqual(expectedShape);
  expect(actual.data.length).toBe(expected.length);
  expected.forEach((v, i) => expect(actual.data[i]).toBeCloseTo(v, digits));
}

describe('ndarray helpers', () => {
  it('computes strides and converts index <-> offset', () => {
    expect(strides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(strides([])).toEqual([]);
    expect(indexToOffset([1, 2, 3], [2, 3, 4])).toBe(23);
    expect(offsetToIndex(23, [2, 3, 4])).toEqual([1, 2, 3]);
    expect(offsetToIndex(5, [2, 3, 4])).toEqual([0, 1, 1]);
  });

  it('broadcasts shapes with numpy rules', () => {
    expect(broadcastShapes([2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [3])).toEqual([3]);
    expect(broadcastShapes([0], [1])).toEqual([0]);
    expect(() => broadcastShapes([2], [3])).toThrow();
  });

  it('reads broadcast elements', () => {
    const x = nd([3, 1], [1, 2, 3]);
    expect(broadcastGet(x, [5, 2, 7])).toBe(3);
    expect(broadcastGet(nd([], [42]), [1, 1])).toBe(42);
  });

  it('rejects data of the wrong length and builds nested arrays', () => {
    expect(() => nd([2, 2], [1, 2, 3])).toThrow();
    expect(toNested(nd([2, 2], [1, 2, 3, 4]))).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(toNested(nd([], [7]))).toBe(7);
  });

  it('generates deterministic uniform random numbers', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const xs = range(1000).map(() => a());
    expect(range(1000).map(() => b())).toEqual(xs);
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = xs.reduce((p, q) => p + q, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    expect(seededRandom(124)()).not.toBe(xs[0]);
    const r = randomNd([4, 5], seededRandom(1), 2, 3);
    expect(r.shape).toEqual([4, 5]);
    expect(Array.from(r.data).every((v) => v >= 2 && v < 3)).toBe(true);
  });
});

describe('elementwise binary', () => {
  const col = nd([2, 1], [1, 2]);
  const row = nd([3], [10, 20, 30]);

  it('add/sub/mul/div broadcast', () => {
    expectNd(add(col, row), [2, 3], [11, 21, 31, 12, 22, 32]);
    expectNd(sub(col, row), [2, 3], [-9, -19, -29, -8, -18, -28]);
    expectNd(mul(col, row), [2, 3], [10, 20, 30, 20, 40, 60]);
    expectNd(div(row, nd([], [4])), [3], [2.5, 5, 7.5]);
  });

  it('pow', () => {
    expectNd(pow(nd([3], [2, 3, 4]), nd([], [2])), [3], [4, 9, 16]);
    expectNd(pow(nd([2], [4, 8]), nd([2], [0.5, -1])), [2], [2, 0.125]);
    expect(Number.isNaN(pow(nd([1], [-8]), nd([1], [1 / 3])).data[0])).toBe(true);
  });

  it('max (2 and 3 inputs), equal, where', () => {
    expectNd(max(nd([2], [1, 5]), nd([2], [3, 2])), [2], [3, 5]);
    expectNd(max(nd([2], [1, 5]), nd([2], [3, 2]), nd([], [4])), [2], [4, 5]);
    expectNd(equal(nd([3], [1, 2, 3]), nd([3], [1, 0, 3])), [3], [1, 0, 1]);
    expectNd(where(nd([2, 1], [1, 0]), nd([2], [1, 2]), nd([], [9])), [2, 2], [1, 2, 9, 9]);
  });
});

describe('elementwise unary', () => {
  it('neg/exp/log/sqrt/tanh/identity', () => {
    expectNd(neg(nd([2], [1, -2])), [2], [-1, 2]);
    expectNdClose(exp(nd([2], [0, 1])), [2], [1, Math.E]);
    expectNdClose(log(nd([2], [1, Math.E])), [2], [0, 1]);
    expectNd(sqrt(nd([2], [4, 9])), [2], [2, 3]);
    expectNdClose(tanh(nd([3], [0, 50, -50])), [3], [0, 1, -1]);
    const x = nd([2], [3, 4]);
    const y = identity(x);
    expectNd(y, [2], [3, 4]);
    expect(y.data).not.toBe(x.data);
  });

  it('erf matches tabulated values to ~1e-15', () => {
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [4, 0.9999999845827421],
      [5, 0.9999999999984626],
      [-1, -0.8427007929497149],
    ];
    for (const [x, v] of table) expect(Math.abs(erfScalar(x) - v)).toBeLessThan(1e-15);
    expect(Math.abs(erfScalar(0.5) - 0.5204998778130465)).toBeLessThan(2e-16); // within 1 ulp
    // Tiny arguments: erf(x) ~ 2x / sqrt(pi), relative accuracy.
    expect(erfScalar(1e-10) / ((2 / Math.sqrt(Math.PI)) * 1e-10)).toBeCloseTo(1, 14);
    // Continuity across the series / continued-fraction switch at 3.
    expect(Math.abs(erfScalar(3 - 1e-12) - erfScalar(3))).toBeLessThan(1e-15);
    expect(erfScalar(Infinity)).toBe(1);
    expect(erfScalar(-Infinity)).toBe(-1);
    expectNdClose(erf(nd([2], [0.5, -0.5])), [2], [0.5204998778130465, -0.5204998778130465], 15);
  });

  it('clip', () => {
    expectNd(clip(nd([3], [-2, 0.5, 3]), -1, 1), [3], [-1, 0.5, 1]);
    expectNd(clip(nd([3], [-2, 0.5, 3]), undefined, 1), [3], [-2, 0.5, 1]);
    expectNd(clip(nd([3], [-2, 0.5, 3])), [3], [-2, 0.5, 3]);
    expectNd(clip(nd([3], [-2, 0.5, 3]), 2, 1), [3], [1, 1, 1]);
  });

  it('cast', () => {
    const x = nd([6], [-1.7, -0.5, 0, 0.5, 2.9, NaN]);
    expectNd(cast(slice(x, [0], [5]), 'int64'), [5], [-1, 0, 0, 0, 2]);
    expectNd(cast(slice(x, [0], [5]), 'int32'), [5], [-1, 0, 0, 0, 2]);
    expectNd(cast(x, 'bool'), [6], [1, 1, 0, 1, 1, 1]);
    expect(cast(nd([1], [0.1]), 'float32').data[0]).toBe(0.10000000149011612);
    expect(cast(nd([1], [0.1]), 'float64').data[0]).toBe(0.1);
  });
});

describe('matmul / gemm', () => {
  const a = nd([2, 3], [1, 2, 3, 4, 5, 6]);
  const b = nd([3, 2], [7, 8, 9, 10, 11, 12]);

  it('2-D x 2-D', () => {
    expectNd(matmul(a, b), [2, 2], [58, 64, 139, 154]);
  });

  it('1-D operands', () => {
    expectNd(matmul(nd([3], [1, 2, 3]), nd([3], [4, 5, 6])), [], [32]);
    expectNd(matmul(nd([2], [1, 2]), nd([2, 2], [1, 2, 3, 4])), [2], [7, 10]);
    expectNd(matmul(nd([2, 2], [1, 2, 3, 4]), nd([2], [1, 1])), [2], [3, 7]);
  });

  it('batch broadcasting', () => {
    expectNd(matmul(nd([2, 1, 2], [1, 2, 3, 4]), nd([2, 1], [1, 10])), [2, 1, 1], [21, 43]);
    // [1, 2, 2] (identity) against batch of 3 matrices [3, 2, 2]
    const bs = nd([3, 2, 2], range(12));
    expectNd(matmul(nd([1, 2, 2], [1, 0, 0, 1]), bs), [3, 2, 2], range(12));
    // 1-D against a batch: [2] @ [3, 2, 2] -> [3, 2]
    expectNd(matmul(nd([2], [1, 1]), bs), [3, 2], [2, 4, 10, 12, 18, 20]);
  });

  it('gemm with transposes, alpha, beta and broadcast C', () => {
    const aT = nd([3, 2], [1, 4, 2, 5, 3, 6]);
    const bT = nd([2, 3], [7, 9, 11, 8, 10, 12]);
    const c = nd([2], [1, 2]);
    expectNd(gemm(a, b), [2, 2], [58, 64, 139, 154]);
    expectNd(gemm(aT, b, c, { alpha: 2, transA: 1 }), [2, 2], [117, 130, 279, 310]);
    expectNd(gemm(a, bT, c, { beta: -1, transB: 1 }), [2, 2], [57, 62, 138, 152]);
    expectNd(gemm(aT, bT, nd([2, 1], [100, 200]), { transA: 1, transB: 1 }), [2, 2], [158, 164, 339, 354]);
    expectNd(gemm(a, b, nd([], [1]), { beta: 0.5 }), [2, 2], [58.5, 64.5, 139.5, 154.5]);
  });
});

describe('softmax / logSoftmax / layerNormalization', () => {
  it('softmax of [0, ln 2] is [1/3, 2/3]', () => {
    expectNdClose(softmax(nd([2], [0, Math.LN2])), [2], [1 / 3, 2 / 3], 15);
    expectNdClose(logSoftmax(nd([2], [0, Math.LN2])), [2], [Math.log(1 / 3), Math.log(2 / 3)], 15);
  });

  it('is numerically stable and honours axis', () => {
    expectNd(softmax(nd([2], [1000, 1000])), [2], [0.5, 0.5]);
    expectNdClose(logSoftmax(nd([2], [1000, 1000])), [2], [-Math.LN2, -Math.LN2], 15);
    const x = nd([2, 2], [0, 0, Math.log(3), 0]);
    expectNdClose(softmax(x, 0), [2, 2], [0.25, 0.5, 0.75, 0.5], 15);
    expectNdClose(softmax(x, -1), [2, 2], [0.5, 0.5, 0.75, 0.25], 15);
  });

  it('layerNormalization over the last axis', () => {
    const x = nd([2, 3], [1, 2, 3, 2, 4, 6]);
    const r = layerNormalization(x, nd([3], [1, 1, 1]), nd([3], [0, 0, 0]), { epsilon: 0 });
    const s = Math.sqrt(1.5); // var of [1,2,3] is 2/3
    expectNdClose(r.y, [2, 3], [-s, 0, s, -s, 0, s], 14);
    expectNdClose(r.mean, [2, 1], [2, 4], 14);
    expectNdClose(r.invStdDev, [2, 1], [Math.sqrt(1.5), Math.sqrt(3 / 8)], 14);
    const r2 = layerNormalization(x, nd([3], [2, 2, 2]), nd([3], [1, 0, -1]), { epsilon: 0 });
    expectNdClose(r2.y, [2, 3], [1 - 2 * s, 0, 2 * s - 1, 1 - 2 * s, 0, 2 * s - 1], 14);
    // no bias, default epsilon 1e-5: x=[0,2] has mean 1 and variance 1
    const r3 = layerNormalization(nd([2], [0, 2]), nd([2], [1, 1]));
    const inv = 1 / Math.sqrt(1 + 1e-5);
    expectNdClose(r3.y, [2], [-inv, inv], 14);
    expectNdClose(r3.invStdDev, [1], [inv], 14);
  });

  it('layerNormalization over several axes', () => {
    const x = nd([1, 2, 2], [1, 3, 5, 7]); // mean 4, variance (9+1+1+9)/4 = 5
    const r = layerNormalization(x, nd([2, 2], [1, 1, 1, 1]), undefined, { axis: 1, epsilon: 0 });
    const inv = 1 / Math.sqrt(5);
    expectNdClose(r.y, [1, 2, 2], [-3 * inv, -inv, inv, 3 * inv], 14);
    expectNdClose(r.mean, [1, 1, 1], [4], 14);
    expectNdClose(r.invStdDev, [1, 1, 1], [inv], 14);
  });
});

describe('shape ops', () => {
  it('transpose', () => {
    expectNd(transpose(nd([2, 3], range(6))), [3, 2], [0, 3, 1, 4, 2, 5]);
    const x = nd([2, 3, 4], range(24)); // x[i][j][k] = 12i + 4j + k
    const t = transpose(x, [2, 0, 1]); // t[k][i][j] = x[i][j][k]
    expect(t.shape).toEqual([4, 2, 3]);
    expect(t.data[indexToOffset([3, 1, 2], t.shape)]).toBe(12 + 8 + 3);
    expect(t.data[indexToOffset([1, 0, 2], t.shape)]).toBe(8 + 1);
    expect(transpose(x).shape).toEqual([4, 3, 2]);
  });

  it('reshape with 0 and -1', () => {
    const x = nd([2, 3, 4], range(24));
    expectNd(reshape(x, [0, -1]), [2, 12], range(24));
    expectNd(reshape(x, [-1]), [24], range(24));
    expectNd(reshape(x, [4, 0, -1]), [4, 3, 2], range(24));
    expect(() => reshape(x, [5, -1])).toThrow();
  });

  it('concat and split', () => {
    const a = nd([2, 1], [1, 2]);
    const b = nd([2, 2], [3, 4, 5, 6]);
    expectNd(concat([a, b], 1), [2, 3], [1, 3, 4, 2, 5, 6]);
    expectNd(concat([a, b], -1), [2, 3], [1, 3, 4, 2, 5, 6]);
    expectNd(concat([a, a], 0), [4, 1], [1, 2, 1, 2]);
    const [p, q] = split(nd([5], [1, 2, 3, 4, 5]), [2, 3], 0);
    expectNd(p, [2], [1, 2]);
    expectNd(q, [3], [3, 4, 5]);
    const parts = split(nd([2, 3], range(6)), [1, 2], -1);
    expectNd(parts[0], [2, 1], [0, 3]);
    expectNd(parts[1], [2, 2], [1, 2, 4, 5]);
  });

  it('slice with clamping, negative indices and negative steps', () => {
    const x = nd([10], range(10));
    expectNd(slice(x, [-1], [-1000], [0], [-2]), [5], [9, 7, 5, 3, 1]);
    expectNd(slice(x, [8], [2], [0], [-3]), [2], [8, 5]);
    expectNd(slice(x, [1], [Number.MAX_SAFE_INTEGER]), [9], range(10).slice(1));
    expectNd(slice(x, [-3], [-1]), [2], [7, 8]);
    expectNd(slice(x, [2], [1]), [0], []);
    expectNd(slice(x, [100], [-100], [0], [-4]), [3], [9, 5, 1]);
    expectNd(slice(nd([3], [1, 2, 3]), [-1], [-(2 ** 63)], [0], [-1]), [3], [3, 2, 1]);
    const m = nd([2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    expectNd(slice(m, [1, 0], [2, 3], [0, 1], [1, 2]), [1, 2], [5, 7]);
    expectNd(slice(m, [-2], [1e18], [-1]), [2, 2], [3, 4, 7, 8]);
    expectNd(slice(m, [0, 3], [-1, 0], [0, 1], [1, -1]), [1, 3], [4, 3, 2]);
  });

  it('expand (bidirectional)', () => {
    const x = nd([3, 1], [1, 2, 3]);
    const e = expand(x, [2, 1, 6]);
    expect(e.shape).toEqual([2, 3, 6]);
    expect(Array.from(e.data)).toEqual([1, 2, 3, 1, 2, 3].flatMap((v) => Array<number>(6).fill(v)));
    expectNd(expand(x, [1]), [3, 1], [1, 2, 3]);
    expectNd(expand(x, [1, 2]), [3, 2], [1, 1, 2, 2, 3, 3]);
  });

  it('unsqueeze, squeeze, shape', () => {
    const v = nd([3], [1, 2, 3]);
    expect(unsqueeze(v, [0]).shape).toEqual([1, 3]);
    expect(unsqueeze(v, [0, -1]).shape).toEqual([1, 3, 1]);
    expect(unsqueeze(nd([2, 3], range(6)), [1]).shape).toEqual([2, 1, 3]);
    expect(unsqueeze(nd([], [5]), [0]).shape).toEqual([1]);
    const s = nd([1, 3, 1], [1, 2, 3]);
    expectNd(squeeze(s), [3], [1, 2, 3]);
    expect(squeeze(s, [0]).shape).toEqual([3, 1]);
    expect(squeeze(s, [-1]).shape).toEqual([1, 3]);
    expect(() => squeeze(s, [1])).toThrow();
    expectNd(shape(nd([2, 3, 4], range(24))), [3], [2, 3, 4]);
    expectNd(shape(nd([], [1])), [0], []);
  });
});

describe('index ops', () => {
  it('gather', () => {
    const x = nd([3, 2], [1, 2, 3, 4, 5, 6]);
    expectNd(gather(x, nd([2, 2], [0, 1, 1, 2]), 0), [2, 2, 2], [1, 2, 3, 4, 3, 4, 5, 6]);
    const y = nd([3, 3], [1, 1.2, 1.9, 2.3, 3.4, 3.9, 4.5, 5.7, 5.9]);
    expectNd(gather(y, nd([1, 2], [0, 2]), 1), [3, 1, 2], [1, 1.9, 2.3, 3.9, 4.5, 5.9]);
    expectNd(gather(nd([3], [10, 20, 30]), nd([2], [-1, -3]), 0), [2], [30, 10]);
    expectNd(gather(x, nd([], [1]), 0), [2], [3, 4]);
    expectNd(gather(x, nd([], [-1]), -1), [3], [2, 4, 6]);
    expect(() => gather(x, nd([1], [3]), 0)).toThrow();
  });

  it('gatherElements', () => {
    expectNd(gatherElements(nd([2, 2], [1, 2, 3, 4]), nd([2, 2], [0, 0, 1, 0]), 1), [2, 2], [1, 1, 4, 3]);
    const d = nd([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expectNd(gatherElements(d, nd([2, 3], [1, 2, 0, 2, 0, 0]), 0), [2, 3], [4, 8, 3, 7, 2, 3]);
    expectNd(gatherElements(nd([1, 2], [1, 2]), nd([1, 2], [-1, 0]), -1), [1, 2], [2, 1]);
  });

  it('scatterElements (none and add with duplicate indices)', () => {
    const r = scatterElements(
      nd([3, 3], Array<number>(9).fill(0)),
      nd([2, 3], [1, 0, 2, 0, 2, 1]),
      nd([2, 3], [1.0, 1.1, 1.2, 2.0, 2.1, 2.2]),
      0,
    );
    expectNd(r, [3, 3], [2.0, 1.1, 0, 1.0, 0, 2.2, 0, 2.1, 1.2]);
    const data = nd([1, 5], [1, 2, 3, 4, 5]);
    expectNd(
      scatterElements(data, nd([1, 2], [1, 3]), nd([1, 2], [1.1, 2.1]), 1),
      [1, 5],
      [1, 1.1, 3, 2.1, 5],
    );
    expectNd(
      scatterElements(data, nd([1, 2], [1, 1]), nd([1, 2], [10, 20]), 1, 'add'),
      [1, 5],
      [1, 32, 3, 4, 5],
    );
    expectNd(
      scatterElements(data, nd([1, 2], [-1, -1]), nd([1, 2], [10, 20]), -1, 'none'),
      [1, 5],
      [1, 2, 3, 4, 20],
    );
    expectNd(data, [1, 5], [1, 2, 3, 4, 5]); // input untouched
  });

  it('oneHot', () => {
    const idx = nd([3], [0, 2, -1]);
    expectNd(oneHot(idx, 3, [0, 1]), [3, 3], [1, 0, 0, 0, 0, 1, 0, 0, 1]);
    expectNd(oneHot(idx, 3, [0, 1], 0), [3, 3], [1, 0, 0, 0, 0, 0, 0, 1, 1]);
    expectNd(oneHot(nd([2], [3, -4]), 3, [-1, 5]), [2, 3], [-1, -1, -1, -1, -1, -1]);
    expectNd(oneHot(nd([1, 2], [1, 0]), 2, [0, 1], 1), [1, 2, 2], [0, 1, 1, 0]);
  });
});

describe('reductions', () => {
  const x = nd([2, 2], [1, 2, 3, 4]);

  it('reduceSum with axes and keepdims', () => {
    expectNd(reduceSum(x, [0]), [1, 2], [4, 6]);
    expectNd(reduceSum(x, [1], 0), [2], [3, 7]);
    expectNd(reduceSum(x), [1, 1], [10]);
    expectNd(reduceSum(x, [], 0), [], [10]);
    expectNd(reduceSum(nd([2, 3, 4], range(24)), [0, -1], 0), [3], [60, 92, 124]);
  });

  it('reduceMean and reduceMax', () => {
    expectNd(reduceMean(x, [-1]), [2, 1], [1.5, 3.5]);
    expectNd(reduceMean(x, undefined, 0), [], [2.5]);
    expectNd(reduceMax(x), [1, 1], [4]);
    expectNd(reduceMax(nd([2, 2], [1, -5, -3, -4]), [1], 0), [2], [1, -3]);
  });
});

describe('conv (2-D NCHW)', () => {
  const ones3 = nd([1, 1, 3, 3], Array<number>(9).fill(1));

  it('known difference kernel, with bias', () => {
    const x = nd([1, 1, 3, 3], range(9));
    const w = nd([1, 1, 2, 2], [1, 0, 0, -1]); // x[i][j] - x[i+1][j+1] = -4 everywhere
    expectNd(conv(x, w), [1, 1, 2, 2], [-4, -4, -4, -4]);
    expectNd(conv(x, w, nd([1], [10])), [1, 1, 2, 2], [6, 6, 6, 6]);
  });

  it('3x3 box filter with and without padding (ONNX spec example)', () => {
    const x = nd([1, 1, 5, 5], range(25));
    expectNd(conv(x, ones3), [1, 1, 3, 3], [54, 63, 72, 99, 108, 117, 144, 153, 162]);
    expectNd(
      conv(x, ones3, undefined, { pads: [1, 1, 1, 1] }),
      [1, 1, 5, 5],
      [
        12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72, 111, 117,
        123, 84,
      ],
    );
  });

  it('strides and asymmetric padding', () => {
    const x = nd([1, 1, 7, 5], range(35));
    expectNd(
      conv(x, ones3, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }),
      [1, 1, 4, 3],
      [12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124],
    );
    // pad only at the top (1 row) and right (1 col): 2x2 ones kernel on 2x2 input [[1,2],[3,4]]
    const y = nd([1, 1, 2, 2], [1, 2, 3, 4]);
    const k = nd([1, 1, 2, 2], [1, 1, 1, 1]);
    expectNd(conv(y, k, undefined, { pads: [1, 0, 0, 1] }), [1, 1, 2, 2], [3, 2, 10, 6]);
  });

  it('dilation, groups and multiple channels', () => {
    const x = nd([1, 1, 3, 3], range(9));
    expectNd(conv(x, nd([1, 1, 2, 2], [1, 1, 1, 1]), undefined, { dilations: [2, 2] }), [1, 1, 1, 1], [16]);
    const xg = nd([1, 2, 2, 2], [1, 1, 1, 1, 2, 2, 2, 2]);
    expectNd(
      conv(xg, nd([2, 1, 1, 1], [3, 5]), undefined, { group: 2 }),
      [1, 2, 2, 2],
      [3, 3, 3, 3, 10, 10, 10, 10],
    );
    expectNd(conv(nd([1, 2, 1, 1], [1, 2]), nd([1, 2, 1, 1], [3, 4])), [1, 1, 1, 1], [11]);
    // batch of 2, 2 output channels
    const xb = nd([2, 1, 1, 1], [1, 2]);
    expectNd(conv(xb, nd([2, 1, 1, 1], [3, -1]), nd([2], [0, 1])), [2, 2, 1, 1], [3, 0, 6, -1]);
  });
});
