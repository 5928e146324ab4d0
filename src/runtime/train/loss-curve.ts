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
      if (px < 0 || py < 0 || px >= W || py >= H) continue;
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

/**
 * A loss-curve PNG: the per-step loss (light) and its exponential moving average (dark) on a log
 * axis, with gridlines at powers of ten and at every 10% of the steps. No text (no font dependency);
 * the axis ranges go in the file name's companion log line.
 */
export async function renderLossCurve(
  steps: readonly number[],
  losses: readonly number[],
  file: string,
): Promise<void> {
  const buf = Buffer.alloc(W * H * 3, 255);
  const finite = losses.filter((l) => Number.isFinite(l) && l > 0);
  if (finite.length === 0) {
    await sharp(buf, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(file);
    return;
  }
  const lo = Math.log10(Math.min(...finite));
  const hi = Math.max(Math.log10(Math.max(...finite)), lo + 1e-3);
  const s0 = steps[0];
  const s1 = Math.max(steps[steps.length - 1], s0 + 1);
  const px = (s: number) => MARGIN.left + ((s - s0) / (s1 - s0)) * (W - MARGIN.left - MARGIN.right);
  const py = (l: number) =>
    MARGIN.top + ((hi - Math.log10(l)) / (hi - lo)) * (H - MARGIN.top - MARGIN.bottom);
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++)
    line(buf, MARGIN.left, py(10 ** e), W - MARGIN.right, py(10 ** e), [225, 225, 225], 1);
  for (let k = 0; k <= 10; k++) {
    const x = MARGIN.left + (k / 10) * (W - MARGIN.left - MARGIN.right);
    line(buf, x, MARGIN.top, x, H - MARGIN.bottom, [235, 235, 235], 1);
  }
  line(buf, MARGIN.left, H - MARGIN.bottom, W - MARGIN.right, H - MARGIN.bottom, [0, 0, 0], 1);
  line(buf, MARGIN.left, MARGIN.top, MARGIN.left, H - MARGIN.bottom, [0, 0, 0], 1);
  let ema: number | undefined;
  let prev: [number, number] | undefined;
  let prevEma: [number, number] | undefined;
  const alpha = Math.min(1, 20 / steps.length);
  steps.forEach((s, i) => {
    const l = losses[i];
    if (!Number.isFinite(l) || l <= 0) return;
    const p: [number, number] = [px(s), py(l)];
    if (prev) line(buf, prev[0], prev[1], p[0], p[1], [150, 190, 240], 1);
    prev = p;
    ema = ema === undefined ? l : ema + alpha * (l - ema);
    const q: [number, number] = [px(s), py(ema)];
    if (prevEma) line(buf, prevEma[0], prevEma[1], q[0], q[1], [20, 60, 160], 2);
    prevEma = q;
  });
  await sharp(buf, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toFile(file);
}
