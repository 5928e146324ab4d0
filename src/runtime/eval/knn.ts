/**
 * Weighted k-nearest-neighbour classification of frozen features (the k-NN monitor of InstDisc and
 * DINO): features are L2-normalized, each test sample takes the k training samples of highest cosine
 * similarity, and each of them votes for its class with weight exp(similarity / T).
 */
import { Graph } from '../../graph-builder/core/graph';
import { tensorData } from '../../graph-builder/core/tensor-data';
import { toModelProto } from '../../graph-builder/onnx/to-model-proto';
import * as op from '../../graph-builder/ops';
import { ModelSession, SessionConfig } from '../session';

/** Feature vectors [count, dim] with their labels [count] (-1: no label). */
export interface KnnSamples {
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly dim: number;
}

export interface KnnOptions {
  /** Neighbours that vote (default 20; fewer when the training set is smaller). */
  readonly k?: number;
  /** Temperature of the vote weights exp(sim / T) (default 0.07). */
  readonly temperature?: number;
  /** Classes 0..numClasses-1; default 1 + the largest training label. */
  readonly numClasses?: number;
}

export interface KnnResult {
  /** [test count] predicted class of each test sample. */
  readonly predictions: Int32Array;
  /** Fraction of test samples with a label (>= 0) predicted right; NaN when none has a label. */
  readonly accuracy: number;
  /** Test samples with a label (the denominator of `accuracy`). */
  readonly labeled: number;
}

/** Test rows per similarity run: [rows, training samples] float32 come back from ORT per run. */
const QUERY_ROWS = 256;

function checkSamples(name: string, s: KnnSamples): number {
  if (!(Number.isSafeInteger(s.dim) && s.dim >= 1)) throw new Error(`${name}.dim must be >= 1, got ${s.dim}`);
  const count = s.labels.length;
  if (s.features.length !== count * s.dim) {
    throw new Error(
      `${name}: ${s.features.length} feature values do not make ${count} samples (one per label) of dim ${s.dim}`,
    );
  }
  return count;
}

/** Rows `rows` of `features` ([*, dim]), each scaled to unit L2 norm (zero rows stay zero), as float64. */
function normalizedRows(features: Float32Array, dim: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) {
    const src = rows[i] * dim;
    let sq = 0;
    for (let d = 0; d < dim; d++) sq += features[src + d] * features[src + d];
    const scale = 1 / Math.max(Math.sqrt(sq), 1e-12);
    const dst = i * dim;
    for (let d = 0; d < dim; d++) out[dst + d] = features[src + d] * scale;
  }
  return out;
}

/** float32 copies of float64 rows (the similarity model's inputs). */
const float32Of = (x: Float64Array): Float32Array => Float32Array.from(x);

/** similarities [m, n] = queries [m, d] x keys [n, d]^T, one Gemm. */
function similarityModel(dim: number): ReturnType<typeof toModelProto> {
  const g = new Graph('knn_similarities');
  const queries = g.input('queries', 'float32', ['m', dim]);
  const keys = g.input('keys', 'float32', ['n', dim]);
  g.output('similarities', op.gemm(queries, keys, undefined, { transB: 1 }));
  return toModelProto(g, { paramsAs: 'inputs' });
}

/**
 * The k nearest training rows of each test row, ranked by float64 cosine similarity, ties to the
 * earlier training row. ORT's float32 MatMul screens: a training row can be among the k best only
 * if its float32 similarity is within 2 delta of the k-th best float32 similarity, where delta
 * bounds the float32 error of a dot product of unit vectors (d ulps, and the rounding of the
 * inputs); those candidates are then ranked on float64 similarities. Values [rows, k], indices
 * [rows, k], best first.
 */
async function nearest(
  a: Float64Array,
  rowsA: number,
  b: Float64Array,
  rowsB: number,
  dim: number,
  k: number,
  session: SessionConfig,
): Promise<{ values: Float64Array; indices: Int32Array }> {
  const delta = (dim + 4) * 2 ** -23;
  const values = new Float64Array(rowsA * k);
  const indices = new Int32Array(rowsA * k);
  const model = await ModelSession.create(similarityModel(dim), session);
  try {
    const keys = tensorData('float32', [rowsB, dim], float32Of(b));
    const kth = new Float32Array(k);
    for (let i0 = 0; i0 < rowsA; i0 += QUERY_ROWS) {
      const rows = Math.min(QUERY_ROWS, rowsA - i0);
      const queries = tensorData('float32', [rows, dim], float32Of(a.subarray(i0 * dim, (i0 + rows) * dim)));
      const sims = (await model.run({ queries, keys })).similarities.data as Float32Array;
      for (let r = 0; r < rows; r++) {
        const row = sims.subarray(r * rowsB, (r + 1) * rowsB);
        const floor = kthLargest(row, k, kth) - 2 * delta;
        const i = i0 + r;
        const candidates: { j: number; sim: number }[] = [];
        for (let j = 0; j < rowsB; j++) {
          if (row[j] >= floor) candidates.push({ j, sim: dot(a, i * dim, b, j * dim, dim) });
        }
        candidates.sort((x, y) => y.sim - x.sim || x.j - y.j);
        for (let t = 0; t < k; t++) {
          values[i * k + t] = candidates[t].sim;
          indices[i * k + t] = candidates[t].j;
        }
      }
    }
  } finally {
    await model.release();
  }
  return { values, indices };
}

/** The k-th largest value of `row` (k <= row.length); `scratch` holds k floats. */
function kthLargest(row: Float32Array, k: number, scratch: Float32Array): number {
  // The k largest seen so far, smallest first in slot `low`.
  scratch.set(row.subarray(0, k));
  let low = 0;
  for (let t = 1; t < k; t++) if (scratch[t] < scratch[low]) low = t;
  for (let j = k; j < row.length; j++) {
    if (row[j] <= scratch[low]) continue;
    scratch[low] = row[j];
    for (let t = 0; t < k; t++) if (scratch[t] < scratch[low]) low = t;
  }
  return scratch[low];
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += a[ao + d] * b[bo + d];
  return s;
}

/**
 * Weighted k-NN: cosine similarity between L2-normalized features; the k most similar training
 * samples (those with a label) vote for their class with weight exp(sim / T); the class with the
 * largest total wins (ties: the smaller class). Accuracy counts test samples with a label >= 0.
 */
export async function knnClassify(
  train: KnnSamples,
  test: KnnSamples,
  options: KnnOptions = {},
  /** Where the similarity MatMuls run (default: CPU). */
  session: SessionConfig = {},
): Promise<KnnResult> {
  const k0 = options.k ?? 20;
  const temperature = options.temperature ?? 0.07;
  if (!(Number.isSafeInteger(k0) && k0 >= 1)) throw new Error(`k must be an integer >= 1, got ${k0}`);
  if (!(Number.isFinite(temperature) && temperature > 0))
    throw new Error(`temperature must be > 0, got ${temperature}`);
  const trainCount = checkSamples('train', train);
  const testCount = checkSamples('test', test);
  if (train.dim !== test.dim) throw new Error(`train dim ${train.dim} != test dim ${test.dim}`);
  const dim = train.dim;

  const voters: number[] = [];
  let maxLabel = -1;
  for (let i = 0; i < trainCount; i++) {
    const l = train.labels[i];
    if (l >= 0) {
      voters.push(i);
      if (l > maxLabel) maxLabel = l;
    }
  }
  if (voters.length === 0) throw new Error('the training set has no labeled sample');
  const numClasses = options.numClasses ?? maxLabel + 1;
  if (!(Number.isSafeInteger(numClasses) && numClasses > maxLabel)) {
    throw new Error(`numClasses ${numClasses} does not cover the training labels 0..${maxLabel}`);
  }
  const k = Math.min(k0, voters.length);
  const voterLabels = Int32Array.from(voters, (i) => train.labels[i]);
  const b = normalizedRows(train.features, dim, voters);
  const a = normalizedRows(
    test.features,
    dim,
    Array.from({ length: testCount }, (_, i) => i),
  );

  const top = await nearest(a, testCount, b, voters.length, dim, k, session);

  const predictions = new Int32Array(testCount);
  const votes = new Float64Array(numClasses);
  let correct = 0;
  let labeled = 0;
  for (let i = 0; i < testCount; i++) {
    votes.fill(0);
    const base = i * k;
    let best = -Infinity;
    for (let j = 0; j < k; j++) best = Math.max(best, top.values[base + j]);
    // exp((sim - best) / T): the same argmax as exp(sim / T), without overflow for small T
    for (let j = 0; j < k; j++) {
      votes[voterLabels[top.indices[base + j]]] += Math.exp((top.values[base + j] - best) / temperature);
    }
    let cls = 0;
    for (let c = 1; c < numClasses; c++) if (votes[c] > votes[cls]) cls = c;
    predictions[i] = cls;
    const label = test.labels[i];
    if (label >= 0) {
      labeled++;
      if (label === cls) correct++;
    }
  }
  return { predictions, accuracy: labeled > 0 ? correct / labeled : NaN, labeled };
}
