import type { StepMetrics } from '../train/metrics-log';
import type { LineChart, LineSeries } from './line-chart';
import { gaussianSmooth, smoothingSigma } from './smoothing';

/** Colours of the quantities, the same in every chart (colour-blind-safe Okabe-Ito hues). */
const COLORS = {
  loss: '#0072B2',
  loss_rec: '#E69F00',
  loss_align: '#009E73',
  lr: '#777777',
  top1: '#D55E00',
  valLoss: '#CC79A7',
  throughput: '#0072B2',
  mfu: '#E69F00',
} as const;

/** Names the legend shows for metrics fields. */
const LABELS: Record<string, string> = {
  loss: 'loss',
  loss_rec: 'rec (reconstruction)',
  loss_align: 'align (alignment)',
};

type Point = [number, number];

function column(records: readonly StepMetrics[], field: string): Point[] {
  return records
    .filter((r) => typeof r[field] === 'number')
    .map((r) => [r.step, r[field] as number] as Point);
}

/** The raw line (light) and its smoothed line (bold) of one field, under one legend name. */
function rawAndSmoothed(
  points: Point[],
  name: string,
  color: string,
  log: boolean,
  axis: 0 | 1 = 0,
): LineSeries[] {
  const smooth = gaussianSmooth(
    points.map(([, v]) => v),
    smoothingSigma(points.length),
    log,
  );
  return [
    { name, points, color, style: 'raw', axis },
    { name, points: points.map(([s], i) => [s, smooth[i]] as Point), color, style: 'bold', axis },
  ];
}

const smoothingNote = (n: number) =>
  `light: every step; bold: centred Gaussian smoothing, sigma ${smoothingSigma(n)} steps (no lag)`;

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
  return {
    title: `${ctx.run}: training loss`,
    subtitle: smoothingNote(records.length),
    x: { name: 'step' },
    y: { name: 'loss (log scale)', log: true },
    y2: { name: 'learning rate' },
    series: [
      ...fields.flatMap((f) =>
        rawAndSmoothed(column(records, f), LABELS[f] ?? f, COLORS[f as keyof typeof COLORS] ?? '#333', true),
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
