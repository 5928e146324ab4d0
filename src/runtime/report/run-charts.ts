import type { StepMetrics } from '../train/step-metrics';
import { LineChart, LineSeries, PALETTE } from './line-chart';
import { gaussianSmooth, smoothingSigma } from './smoothing';

/** Colours of the quantities, the same in every chart. */
const COLORS = {
  loss: PALETTE[0],
  loss_rec: PALETTE[1],
  loss_align: PALETTE[2],
  lr: '#777777',
  top1: PALETTE[3],
  valLoss: PALETTE[4],
  throughput: PALETTE[0],
  mfu: PALETTE[1],
} as const;

/** Names the legend shows for metrics fields. */
const LABELS: Record<string, string> = {
  loss: 'loss',
  loss_rec: 'rec (reconstruction)',
  loss_align: 'align (alignment)',
};

type Point = [number, number];

/** [step, value] of the records that have a number in `field`. */
export function column(records: readonly StepMetrics[], field: string): Point[] {
  return records
    .filter((r) => typeof r[field] === 'number')
    .map((r) => [r.step, r[field] as number] as Point);
}

/** Long runs are smoothed on bucket means (at most this many points): the chart is 900 px wide. */
const MAX_SMOOTHED_POINTS = 4000;

function bucketMeans(points: Point[], log: boolean): Point[] {
  const size = Math.ceil(points.length / MAX_SMOOTHED_POINTS);
  if (size <= 1) return points;
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size).filter(([, v]) => Number.isFinite(v) && (!log || v > 0));
    if (bucket.length === 0) continue;
    const mean = bucket.reduce((s, [, v]) => s + (log ? Math.log10(v) : v), 0) / bucket.length;
    out.push([bucket[Math.floor(bucket.length / 2)][0], log ? 10 ** mean : mean]);
  }
  return out;
}

/** The raw line (light) and its smoothed line (bold) of one field, under one legend name. */
function rawAndSmoothed(
  points: Point[],
  name: string,
  color: string,
  log: boolean,
  axis: 0 | 1 = 0,
): LineSeries[] {
  const coarse = bucketMeans(points, log);
  const smooth = gaussianSmooth(
    coarse.map(([, v]) => v),
    smoothingSigma(coarse.length),
    log,
  );
  return [
    { name, points, color, style: 'raw', axis },
    { name, points: coarse.map(([s], i) => [s, smooth[i]] as Point), color, style: 'bold', axis },
  ];
}

function smoothingNote(n: number): string {
  const bucket = Math.ceil(n / MAX_SMOOTHED_POINTS);
  const sigma = smoothingSigma(Math.ceil(n / bucket)) * bucket;
  return `light: every step; bold: centred Gaussian smoothing, sigma ${sigma} steps (no lag)`;
}

/** What the charts are about, for their titles: "cae-tiny-28 on MNIST (train)". */
export interface ChartContext {
  readonly run: string;
}

/**
 * The training-curve chart: loss and its terms on a log axis (raw and smoothed), the learning rate
 * on its own axis at the right.
 */
export function lossChart(
  records: readonly StepMetrics[],
  terms: readonly string[],
  ctx: ChartContext,
): LineChart {
  const fields = ['loss', ...terms.filter((t) => records.some((r) => typeof r[t] === 'number'))];
  // A log axis shows decades; a loss that stays within one is clearer on a linear axis.
  const values = fields.flatMap((f) => column(records, f).map(([, v]) => v)).filter((v) => v > 0);
  const log =
    values.length > 0 &&
    values.reduce((a, b) => Math.max(a, b)) / values.reduce((a, b) => Math.min(a, b)) >= 10;
  return {
    title: `${ctx.run}: training loss`,
    subtitle: smoothingNote(records.length),
    x: { name: 'step' },
    y: log ? { name: 'loss (log scale)', log: true } : { name: 'loss' },
    y2: { name: 'learning rate' },
    series: [
      ...fields.flatMap((f) =>
        rawAndSmoothed(column(records, f), LABELS[f] ?? f, COLORS[f as keyof typeof COLORS] ?? '#333', log),
      ),
      { name: 'learning rate', points: column(records, 'lr'), color: COLORS.lr, style: 'dashed', axis: 1 },
    ],
  };
}

/** Fine-tuning: validation top-1 (%) and validation loss at each evaluation. */
export function validationChart(records: readonly StepMetrics[], ctx: ChartContext): LineChart {
  return {
    title: `${ctx.run}: validation`,
    x: { name: 'step' },
    y: { name: 'top-1 (%)' },
    y2: { name: 'validation loss' },
    series: [
      {
        name: 'top-1',
        points: column(records, 'val_top1').map(([s, v]) => [s, 100 * v] as Point),
        color: COLORS.top1,
        style: 'points',
      },
      {
        name: 'validation loss',
        points: column(records, 'val_loss'),
        color: COLORS.valLoss,
        style: 'points',
        axis: 1,
      },
    ],
  };
}

/** Images per second and MFU (against the MatMul peak measured at the run's start). */
export function throughputChart(records: readonly StepMetrics[], ctx: ChartContext): LineChart {
  const mfu = column(records, 'mfu').map(([s, v]) => [s, 100 * v] as Point);
  return {
    title: `${ctx.run}: throughput`,
    subtitle: smoothingNote(records.length),
    x: { name: 'step' },
    y: { name: 'images / s' },
    ...(mfu.length > 0 ? { y2: { name: 'MFU (% of measured MatMul peak)' } } : {}),
    series: [
      ...rawAndSmoothed(column(records, 'images_per_second'), 'images / s', COLORS.throughput, false),
      ...(mfu.length > 0 ? rawAndSmoothed(mfu, 'MFU', COLORS.mfu, false, 1) : []),
    ],
  };
}
