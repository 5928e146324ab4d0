import sharp from 'sharp';

const W = 800;
const H = 420;
const MARGIN = { left: 60, right: 20, top: 20, bottom: 40 };

/** Sets a pixel (with a 2-pixel pen) in an RGB buffer. */
function plot(buf: Buffer, x: number, y: number, rgb: readonly number[], pen = 1): void {
  for (let dx = 0; dx < pen; dx++) {
    for (let dy = 0; dy < pen; dy++) {
      const px = Math.round(x) + dx;
      const py = Math.round(y) + dy;
      if (px < 0 || py < 0 || px >= W || (py + 1) * W * 3 > buf.length) continue;
      const o = (py * W + px) * 3;
      buf[o] = rgb[0];
      buf[o + 1] = rgb[1];
      buf[o + 2] = rgb[2];
    }
  }
}

function line(
  buf: Buffer,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  rgb: readonly number[],
  pen: number,
): void {
  const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
  for (let i = 0; i <= n; i++) plot(buf, x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, rgb, pen);
}

/** The curve image every run leaves in its folder. */
export const CURVE_FILE = 'loss.png';

/** One panel: a series drawn raw (light) and smoothed (dark), on a log or linear axis. */
interface Panel {
  readonly steps: readonly number[];
  readonly values: readonly number[];
  readonly log: boolean;
}

/**
 * Draws one panel into rows [top, top + H) of the image: the raw series (light) and its exponential
 * moving average (dark), gridlines at powers of ten (log) or tenths of the range (linear) and at every
 * 10% of the steps. No text (no font dependency).
 */
function drawPanel(buf: Buffer, top: number, p: Panel): void {
  const valid = (v: number) => Number.isFinite(v) && (!p.log || v > 0);
  const points = p.steps.map((s, i) => [s, p.values[i]] as const).filter(([, v]) => valid(v));
  if (points.length === 0) return;
  const f = (v: number) => (p.log ? Math.log10(v) : v);
  const ys = points.map(([, v]) => f(v));
  const lo = Math.min(...ys);
  const hi = Math.max(Math.max(...ys), lo + 1e-3);
  const s0 = points[0][0];
  const s1 = Math.max(points[points.length - 1][0], s0 + 1);
  const px = (s: number) => MARGIN.left + ((s - s0) / (s1 - s0)) * (W - MARGIN.left - MARGIN.right);
  const py = (v: number) => top + MARGIN.top + ((hi - f(v)) / (hi - lo)) * (H - MARGIN.top - MARGIN.bottom);
  const grid = p.log
    ? Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, k) => 10 ** (Math.ceil(lo) + k))
    : Array.from({ length: 11 }, (_, k) => lo + ((hi - lo) * k) / 10);
  for (const g of grid) line(buf, MARGIN.left, py(g), W - MARGIN.right, py(g), [225, 225, 225], 1);
  for (let k = 0; k <= 10; k++) {
    const x = MARGIN.left + (k / 10) * (W - MARGIN.left - MARGIN.right);
    line(buf, x, top + MARGIN.top, x, top + H - MARGIN.bottom, [235, 235, 235], 1);
  }
  line(buf, MARGIN.left, top + H - MARGIN.bottom, W - MARGIN.right, top + H - MARGIN.bottom, [0, 0, 0], 1);
  line(buf, MARGIN.left, top + MARGIN.top, MARGIN.left, top + H - MARGIN.bottom, [0, 0, 0], 1);
  let ema: number | undefined;
  let prev: [number, number] | undefined;
  let prevEma: [number, number] | undefined;
  const alpha = Math.min(1, 20 / points.length);
  for (const [s, v] of points) {
    const q: [number, number] = [px(s), py(v)];
    if (prev) line(buf, prev[0], prev[1], q[0], q[1], [150, 190, 240], 1);
    prev = q;
    ema = ema === undefined ? v : ema + alpha * (v - ema);
    const e: [number, number] = [px(s), py(ema)];
    if (prevEma) line(buf, prevEma[0], prevEma[1], e[0], e[1], [20, 60, 160], 2);
    prevEma = e;
  }
}

/**
 * The run's curve PNG: one panel per requested metrics field (the loss on a log axis; for
 * fine-tuning, validation top-1 below it on a linear axis), from metrics.jsonl records.
 */
export async function renderCurves(
  records: readonly Readonly<Record<string, unknown>>[],
  panels: readonly { readonly field: string; readonly log: boolean }[],
  file: string,
): Promise<void> {
  const buf = Buffer.alloc(W * H * panels.length * 3, 255);
  panels.forEach((panel, k) => {
    const rows = records.filter((r) => typeof r[panel.field] === 'number');
    drawPanel(buf, k * H, {
      steps: rows.map((r) => r.step as number),
      values: rows.map((r) => r[panel.field] as number),
      log: panel.log,
    });
  });
  await sharp(buf, { raw: { width: W, height: H * panels.length, channels: 3 } })
    .png()
    .toFile(file);
}
