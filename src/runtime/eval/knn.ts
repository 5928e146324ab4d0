/**
 * Weighted k-nearest-neighbour classification of frozen features (the k-NN monitor of InstDisc and
 * DINO): features are L2-normalized, each test sample takes the k training samples of highest cosine
 * similarity, and each of them votes for its class with weight exp(similarity / T).
 */

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

/** Test rows and training rows per micro-kernel step (16 accumulators stay in registers). */
const TILE = 4;
/** Training rows per cache block (block x dim floats stay in L2 while every test row visits them). */
const TRAIN_BLOCK_BYTES = 256 * 1024;

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

/**
 * The k largest similarities of every test row, as unsorted lists: values [rows, k] and training
 * indices [rows, k], plus for each row the slot of its current smallest kept value.
 */
class TopK {
  readonly values: Float64Array;
  readonly indices: Int32Array;
  /** The smallest kept value of each row (-Infinity until k values are kept). */
  readonly floor: Float64Array;
  private readonly floorSlot: Int32Array;

  constructor(
    rows: number,
    readonly k: number,
  ) {
    this.values = new Float64Array(rows * k).fill(-Infinity);
    this.indices = new Int32Array(rows * k).fill(-1);
    this.floor = new Float64Array(rows).fill(-Infinity);
    this.floorSlot = new Int32Array(rows);
  }

  /** Keeps (value, index) in `row` in place of the smallest kept value; call only when value > floor[row]. */
  push(row: number, value: number, index: number): void {
    const k = this.k;
    const base = row * k;
    const values = this.values;
    values[base + this.floorSlot[row]] = value;
    this.indices[base + this.floorSlot[row]] = index;
    let slot = 0;
    let min = values[base];
    for (let j = 1; j < k; j++) {
      if (values[base + j] < min) {
        min = values[base + j];
        slot = j;
      }
    }
    this.floor[row] = min;
    this.floorSlot[row] = slot;
  }
}

/**
 * Fills `top` with the k most similar training rows of each test row. Blocked: a block of training
 * rows stays in cache while all test rows visit it, TILE x TILE dot products at a time. Equal
 * similarities keep the earlier training row.
 */
function nearest(
  a: Float64Array,
  rowsA: number,
  b: Float64Array,
  rowsB: number,
  dim: number,
  top: TopK,
): void {
  const floor = top.floor;
  const blockRows = Math.max(TILE, Math.floor(TRAIN_BLOCK_BYTES / (8 * dim) / TILE) * TILE);
  const offer = (row: number, value: number, index: number): void => {
    if (value > floor[row]) top.push(row, value, index);
  };
  for (let j0 = 0; j0 < rowsB; j0 += blockRows) {
    const j1 = Math.min(rowsB, j0 + blockRows);
    const jTiled = j0 + Math.floor((j1 - j0) / TILE) * TILE;
    let i = 0;
    for (; i + TILE <= rowsA; i += TILE) {
      const a0 = i * dim;
      const a1 = a0 + dim;
      const a2 = a1 + dim;
      const a3 = a2 + dim;
      let j = j0;
      for (; j < jTiled; j += TILE) {
        const b0 = j * dim;
        const b1 = b0 + dim;
        const b2 = b1 + dim;
        const b3 = b2 + dim;
        let s00 = 0;
        let s01 = 0;
        let s02 = 0;
        let s03 = 0;
        let s10 = 0;
        let s11 = 0;
        let s12 = 0;
        let s13 = 0;
        let s20 = 0;
        let s21 = 0;
        let s22 = 0;
        let s23 = 0;
        let s30 = 0;
        let s31 = 0;
        let s32 = 0;
        let s33 = 0;
        for (let d = 0; d < dim; d++) {
          const x0 = b[b0 + d];
          const x1 = b[b1 + d];
          const x2 = b[b2 + d];
          const x3 = b[b3 + d];
          let y = a[a0 + d];
          s00 += y * x0;
          s01 += y * x1;
          s02 += y * x2;
          s03 += y * x3;
          y = a[a1 + d];
          s10 += y * x0;
          s11 += y * x1;
          s12 += y * x2;
          s13 += y * x3;
          y = a[a2 + d];
          s20 += y * x0;
          s21 += y * x1;
          s22 += y * x2;
          s23 += y * x3;
          y = a[a3 + d];
          s30 += y * x0;
          s31 += y * x1;
          s32 += y * x2;
          s33 += y * x3;
        }
        let f = floor[i];
        if (s00 > f || s01 > f || s02 > f || s03 > f) {
          offer(i, s00, j);
          offer(i, s01, j + 1);
          offer(i, s02, j + 2);
          offer(i, s03, j + 3);
        }
        f = floor[i + 1];
        if (s10 > f || s11 > f || s12 > f || s13 > f) {
          offer(i + 1, s10, j);
          offer(i + 1, s11, j + 1);
          offer(i + 1, s12, j + 2);
          offer(i + 1, s13, j + 3);
        }
        f = floor[i + 2];
        if (s20 > f || s21 > f || s22 > f || s23 > f) {
          offer(i + 2, s20, j);
          offer(i + 2, s21, j + 1);
          offer(i + 2, s22, j + 2);
          offer(i + 2, s23, j + 3);
        }
        f = floor[i + 3];
        if (s30 > f || s31 > f || s32 > f || s33 > f) {
          offer(i + 3, s30, j);
          offer(i + 3, s31, j + 1);
          offer(i + 3, s32, j + 2);
          offer(i + 3, s33, j + 3);
        }
      }
      for (; j < j1; j++) {
        for (let r = 0; r < TILE; r++) offer(i + r, dot(a, (i + r) * dim, b, j * dim, dim), j);
      }
    }
    for (; i < rowsA; i++) {
      for (let j = j0; j < j1; j++) offer(i, dot(a, i * dim, b, j * dim, dim), j);
    }
  }
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
export function knnClassify(train: KnnSamples, test: KnnSamples, options: KnnOptions = {}): KnnResult {
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

  const top = new TopK(testCount, k);
  nearest(a, testCount, b, voters.length, dim, top);

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
