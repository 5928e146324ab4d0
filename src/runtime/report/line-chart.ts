import * as echarts from 'echarts';

/** One line of a chart: [x, y] points, drawn bold, or light and thin for raw per-step values. */
export interface LineSeries {
  /** Legend entry; a raw and a smoothed line of the same quantity share one name (one entry). */
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  readonly color: string;
  readonly style?: 'raw' | 'bold' | 'dashed' | 'points';
  /** 0: the left y axis, 1: the right one. */
  readonly axis?: 0 | 1;
}

export interface YAxis {
  readonly name: string;
  readonly log?: boolean;
  /** Fixed range, e.g. [0, 100] for a percentage. */
  readonly min?: number;
  readonly max?: number;
}

/** A line chart: title, one or two y axes, a legend; rendered to SVG without a browser. */
export interface LineChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly x: { readonly name: string };
  readonly y: YAxis;
  readonly y2?: YAxis;
  readonly series: readonly LineSeries[];
  readonly width?: number;
  readonly height?: number;
}

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
] as const;

export const CHART_SIZE = { width: 900, height: 420 } as const;

/** Axis labels: 1.2e-3 rather than 0.0012, 3.4k for big counts. */
function tick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a < 1e-2) return v.toExponential(1).replace('.0e', 'e');
  return String(+v.toPrecision(8)); // the axis's own step, without float noise (0.30000000000000004)
}

function yAxisOption(a: YAxis, side: 'left' | 'right'): echarts.EChartsOption['yAxis'] {
  return {
    type: a.log ? 'log' : 'value',
    name: a.name,
    nameLocation: 'middle',
    nameGap: 52,
    position: side,
    min: a.min,
    max: a.max,
    scale: !a.log,
    axisLine: { show: true },
    axisTick: { show: true },
    axisLabel: { formatter: tick },
    splitLine: { show: side === 'left', lineStyle: { color: '#e6e6e6' } },
    minorSplitLine: { show: false },
  };
}

function seriesOption(s: LineSeries): echarts.SeriesOption {
  const style = s.style ?? 'bold';
  return {
    type: 'line',
    name: s.name,
    data: s.points.map(([x, y]) => [x, Number.isFinite(y) ? y : null]),
    yAxisIndex: s.axis ?? 0,
    color: s.color,
    showSymbol: style === 'points',
    symbolSize: 6,
    connectNulls: false,
    sampling: s.points.length > 2000 ? 'lttb' : undefined,
    lineStyle: {
      width: style === 'raw' ? 1 : 2,
      opacity: style === 'raw' ? 0.3 : 1,
      type: style === 'dashed' ? 'dashed' : 'solid',
    },
    z: style === 'raw' ? 1 : 2,
  };
}

/** The chart as a standalone SVG document (text as <text>, fonts from the viewer). */
export function lineChartSvg(c: LineChart): string {
  const width = c.width ?? CHART_SIZE.width;
  const height = c.height ?? CHART_SIZE.height;
  const chart = echarts.init(null, undefined, { renderer: 'svg', ssr: true, width, height });
  // Legend entries once per name, in order of first appearance, bold lines first so the legend
  // shows the quantity's colour at full strength.
  const names = [...new Set(c.series.map((s) => s.name))];
  const ordered = [...c.series].sort((a, b) => Number(a.style === 'raw') - Number(b.style === 'raw'));
  chart.setOption({
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif' },
    title: {
      text: c.title,
      subtext: c.subtitle,
      left: 'center',
      textStyle: { fontSize: 16 },
      subtextStyle: { fontSize: 11, color: '#666' },
    },
    legend: { data: names, bottom: 4, itemWidth: 24, itemGap: 28 },
    grid: { left: 80, right: c.y2 ? 80 : 30, top: c.subtitle ? 70 : 50, bottom: 80 },
    xAxis: {
      type: 'value',
      name: c.x.name,
      nameLocation: 'middle',
      nameGap: 28,
      scale: true,
      axisLine: { show: true, onZero: false },
      axisTick: { show: true },
      axisLabel: { formatter: tick },
      splitLine: { show: true, lineStyle: { color: '#f0f0f0' } },
    },
    yAxis: c.y2 ? [yAxisOption(c.y, 'left'), yAxisOption(c.y2, 'right')] : [yAxisOption(c.y, 'left')],
    series: ordered.map(seriesOption),
  } as echarts.EChartsOption);
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
