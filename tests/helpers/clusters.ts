import { Rng } from '../../src/random/rng';

export interface Clusters {
  /** [n, dim] row-major. */
  readonly features: Float32Array;
  readonly labels: Int32Array;
  readonly dim: number;
  readonly centres: Float32Array;
}

/** Gaussian clusters: class c centred at a random point (std `separation`), unit noise. [n, dim]. */
export function gaussianClusters(
  classes: number,
  n: number,
  dim: number,
  seed: number,
  separation: number,
  centres?: Float32Array,
): Clusters {
  const rng = new Rng(seed);
  const c = centres ?? Float32Array.from({ length: classes * dim }, () => rng.normal() * separation);
  const labels = Int32Array.from({ length: n }, () => rng.int(0, classes - 1));
  const features = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) features[i * dim + d] = c[labels[i] * dim + d] + rng.normal();
  }
  return { features, labels, dim, centres: c };
}
