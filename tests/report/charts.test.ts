import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { writeChartsPng } from '../../src/runtime/report/chart-png';
import { lineChartSvg } from '../../src/runtime/report/line-chart';
import { lossChart, throughputChart, validationChart } from '../../src/runtime/report/run-charts';
import type { StepMetrics } from '../../src/runtime/train/metrics-log';

const records: StepMetrics[] = Array.from({ length: 300 }, (_, i) => ({
  step: i + 1,
  epoch: 0,
  loss: 6 * Math.exp(-i / 40) + 0.5 + 0.05 * Math.sin(i),
  loss_rec: 0.5 + 2 * Math.exp(-i / 30),
  loss_align: 3 * Math.exp(-i / 20) + 0.01,
  grad_norm: 1,
  lr: 1e-3 * Math.min(1, (i + 1) / 15),
  step_seconds: 0.07,
  images_per_second: 900 + 50 * Math.sin(i / 3),
  mfu: 0.2,
  time: '2026-12-03T00:00:00Z',
  ...(i % 100 === 99 ? { val_top1: 0.5 + i / 1000, val_loss: 1.5 - i / 1000 } : {}),
}));

/** The text of an SVG's <text> elements. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

test('the loss chart has a title, labelled axes (loss on a log axis, lr on its own), and a legend', () => {
  const svg = lineChartSvg(
    lossChart(records, ['loss_rec', 'loss_align'], { run: 'cae-tiny-28 on MNIST (train)' }),
  );
  const t = texts(svg);
  expect(t).toContain('cae-tiny-28 on MNIST (train): training loss');
  expect(t).toContain('step');
  expect(t).toContain('loss (log scale)');
  expect(t).toContain('learning rate');
  // One legend entry per quantity, though each has a raw and a smoothed line.
  for (const name of ['loss', 'rec (reconstruction)', 'align (alignment)'])
    expect(t.filter((x) => x === name)).toHaveLength(1);
  // Decade ticks of the log axis, and the lr axis in scientific notation.
  expect(t).toEqual(expect.arrayContaining(['0.01', '0.1', '1', '10', '1e-3']));
  expect(t.some((x) => /smoothing, sigma 3 steps/.test(x))).toBe(true);
});

test('a loss within one decade is drawn on a linear axis', () => {
  const flat = records.map((r) => ({ ...r, loss: 2.3 + 0.001 * Math.sin(r.step) }));
  const chart = lossChart(flat, [], { run: 'x' });
  expect(chart.y.log).toBeFalsy();
  expect(texts(lineChartSvg(chart))).toContain('loss');
});

test('validation and throughput charts plot top-1 in percent and MFU on a second axis', () => {
  const v = validationChart(records, { run: 'r' });
  expect(v.series[0].points).toEqual(
    [
      [100, 59.9],
      [200, 69.9],
      [300, 79.9],
    ].map(([s, p]) => [s, expect.closeTo(p, 6)]),
  );
  const t = throughputChart(records, { run: 'r' });
  expect(t.y2?.name).toMatch(/MFU/);
  expect(t.series.find((s) => s.name === 'MFU' && s.style === 'bold')!.points[10][1]).toBeCloseTo(20, 6);
  expect(texts(lineChartSvg(t))).toContain('images / s');
});

test('charts stack into one PNG, with their text drawn', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cae-charts-')), 'c.png');
  await writeChartsPng(
    [
      lineChartSvg(lossChart(records, [], { run: 'r' })),
      lineChartSvg(validationChart(records, { run: 'r' })),
    ],
    file,
  );
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([900, 840]);
  // The title band (no curves there) holds dark pixels: the title's glyphs were rendered.
  let dark = 0;
  for (let y = 10; y < 35; y++)
    for (let x = 0; x < info.width; x++) if (data[(y * info.width + x) * info.channels] < 100) dark++;
  expect(dark).toBeGreaterThan(200);
});
