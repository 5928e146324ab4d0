/** Seconds as 1h02m03s / 4m05s / 6s. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

export interface ProgressLine {
  readonly step: number;
  readonly total: number;
  readonly loss: number;
  /** The loss's parts, shown as (rec 0.1, align 0.2) for loss_rec, loss_align. */
  readonly terms?: Readonly<Record<string, number>>;
  readonly lr: number;
  readonly secondsPerStep: number;
  readonly imagesPerSecond: number;
  readonly gflops?: number;
  readonly mfu?: number;
  readonly etaSeconds: number;
  /** The task's latest evaluation, e.g. "val top-1 85.1%". */
  readonly note?: string;
}

/** One status line: a bar, loss terms, lr, step time, images/s, FLOP/s and MFU, ETA. */
export function formatProgress(p: ProgressLine, width = 20): string {
  const done = Math.round((width * p.step) / p.total);
  const bar = `${'#'.repeat(done)}${'.'.repeat(width - done)}`;
  const pct = ((100 * p.step) / p.total).toFixed(0).padStart(3);
  const terms = Object.entries(p.terms ?? {});
  const parts =
    terms.length === 0
      ? ''
      : ` (${terms.map(([name, v]) => `${name.replace(/^loss_/, '')} ${v.toFixed(4)}`).join(', ')})`;
  const flops =
    p.gflops === undefined
      ? ''
      : ` | ${p.gflops.toFixed(1)} GFLOP/s${p.mfu === undefined ? '' : ` MFU ${(100 * p.mfu).toFixed(0)}%`}`;
  return (
    `step ${p.step}/${p.total} [${bar}] ${pct}% | loss ${p.loss.toFixed(4)}${parts}` +
    `${p.note ? ` | ${p.note}` : ''} | lr ${p.lr.toExponential(2)} | ${p.secondsPerStep.toFixed(3)} s/step | ${p.imagesPerSecond.toFixed(0)} img/s${flops} | ETA ${formatDuration(p.etaSeconds)}`
  );
}
