/**
 * A smoothed copy of a per-step series that does not lag: a centred Gaussian window (each point is
 * the weighted mean of its neighbours on both sides, weights renormalized where the window passes
 * the ends). An exponential moving average, TensorBoard's smoothing, trails a falling loss by about
 * 1/alpha steps; this one does not.
 *
 * `log`: average log10(values) (a loss falling over decades is smoothed evenly on a log axis);
 * non-finite or (for log) non-positive values are ignored and come back as NaN.
 */
export function gaussianSmooth(values: readonly number[], sigma: number, log = false): number[] {
  const usable = (v: number) => Number.isFinite(v) && (!log || v > 0);
  const x = values.map((v) => (usable(v) ? (log ? Math.log10(v) : v) : NaN));
  if (!(sigma > 0)) return values.map((v) => (usable(v) ? v : NaN));
  const radius = Math.ceil(3 * sigma);
  const weights = Array.from({ length: 2 * radius + 1 }, (_, k) =>
    Math.exp(-(((k - radius) / sigma) ** 2) / 2),
  );
  return x.map((xi, i) => {
    if (Number.isNaN(xi)) return NaN;
    let sum = 0;
    let total = 0;
    for (let k = -radius; k <= radius; k++) {
      const v = x[i + k];
      if (v === undefined || Number.isNaN(v)) continue;
      sum += weights[k + radius] * v;
      total += weights[k + radius];
    }
    const mean = sum / total;
    return log ? 10 ** mean : mean;
  });
}

/** The window for a series of n points: about 1% of the run, at least one point. */
export const smoothingSigma = (n: number): number => Math.max(1, Math.round(n / 100));
