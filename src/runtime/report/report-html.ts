import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StepMetrics } from '../train/metrics-log';
import type { RunEvaluation } from './evaluations';
import { CAE_LOSS_TERMS } from '../train/cae-task';
import { LineChart, lineChartSvg } from './line-chart';
import { nextCommands } from './next-commands';
import { column, lossChart, throughputChart, validationChart } from './run-charts';
import { describeData, RunSummary, runTitle } from './run-summary';

/** The page every run folder holds: self-contained (inline SVG, CSS and images; no script, no network). */
export const REPORT_FILE = 'report.html';

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function median(values: number[]): number | undefined {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : undefined;
}

/** Numbers as the page shows them; '-' for none, and for NaN, which JSON records as null. */
const fmt = (v: number | null | undefined, digits = 3): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${+v.toPrecision(digits)}` : '-';
const pct = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-';

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function table(rows: readonly (readonly [string, string])[]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

function grid(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return (
    `<table class="grid"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
  );
}

const values = (records: readonly StepMetrics[], field: string): number[] =>
  column(records, field).map(([, v]) => v);

function overview(s: RunSummary): string {
  const c = s.manifest.config;
  const o = s.state.options;
  const params = s.manifest.params.reduce(
    (n, p) => n + p.shape.reduce((a: number, b) => a * Number(b), 1),
    0,
  );
  const last = s.records.at(-1);
  const finished = s.state.step >= s.state.totalSteps;
  const rows: [string, string][] = [
    [
      'status',
      finished
        ? `finished: ${s.state.step} steps`
        : `stopped at step ${s.state.step} of ${s.state.totalSteps}`,
    ],
    ['data', describeData(o.data) + (o.limit ? `, first ${o.limit} images` : '')],
    [
      'model',
      `${c.preset}: ${c.imageSize}x${c.imageSize}x${c.inChans} images, patch ${c.patchSize}, width ${c.embedDim}, depth ${c.depth}, ${c.numHeads} heads`,
    ],
    ['parameters', `${(params / 1e6).toFixed(2)} M`],
    ...(s.manifest.task
      ? ([['task', `classification, ${s.manifest.task.classNames.length} classes`]] as [string, string][])
      : ([
          [
            'pretext',
            `${c.target === 'pixels' ? 'pixel' : 'token'} targets, ${c.numMasked} of ${s.manifest.grid.numPatches} patches masked (${c.maskKind}), regressor depth ${c.regressorDepth}, decoder depth ${c.decoderDepth}, align weight ${c.alignWeight}`,
          ],
        ] as [string, string][])),
    ['batch', `${c.batch}${o.accumulate > 1 ? ` x ${o.accumulate} micro-batches` : ''} (${c.precision})`],
    [
      'learning rate',
      `peak ${fmt(o.schedule.baseLr)}, ${o.schedule.warmupSteps} warmup steps, cosine to ${fmt(o.schedule.minLr)}`,
    ],
    ['optimizer', `AdamW, weight decay ${s.manifest.optimizer.weightDecay ?? '-'}`],
    ['seed', String(o.seed)],
    ['final loss', last ? fmt(last.loss, 4) : '-'],
    ['training time', duration(s.state.elapsedSeconds)],
    ['throughput (median)', `${fmt(median(values(s.records, 'images_per_second')))} images/s`],
    ['MFU (median)', pct(median(values(s.records, 'mfu')))],
    ['build', `${s.manifest.createdBy}, opset ${s.manifest.opset ?? 21}`],
  ];
  return table(rows);
}

function evaluationRows(evaluations: readonly RunEvaluation[]): string {
  if (evaluations.length === 0)
    return '<p class="note">None yet: <code>cae-onnx probe</code> on this run\'s exported encoder, or <code>cae-onnx finetune --from</code> this run, records its result here.</p>';
  return grid(
    ['when', 'step', 'evaluation', 'data', 'top-1', 'raw pixels'],
    evaluations.map((e) =>
      e.kind === 'probe'
        ? [
            e.time.slice(0, 16).replace('T', ' '),
            String(e.step ?? '-'),
            `${e.mode} probe (${e.pool})`,
            `${e.data} -> ${e.val}`,
            pct(e.accuracy),
            pct(e.baseline),
          ]
        : [
            e.time.slice(0, 16).replace('T', ' '),
            String(e.step ?? '-'),
            `fine-tuning, ${e.epochs} epoch${e.epochs === 1 ? '' : 's'} (${path.basename(e.run)})`,
            e.val,
            pct(e.accuracy),
            '-',
          ],
    ),
  );
}

function nextSteps(s: RunSummary): string {
  const lines = nextCommands(s.runDir, s.manifest, {
    data: s.state.options.data,
    finished: s.state.step >= s.state.totalSteps,
  });
  return `<pre>${lines.map(escapeHtml).join('\n')}</pre>`;
}

const STYLE = `
body { font-family: system-ui, 'DejaVu Sans', sans-serif; margin: 24px auto; max-width: 960px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.sub { color: #666; font-size: 13px; } .note { color: #666; }
table { border-collapse: collapse; font-size: 14px; }
table.kv th { text-align: left; padding: 3px 16px 3px 0; color: #555; font-weight: 600; vertical-align: top; }
table.grid th, table.grid td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; }
figure { margin: 12px 0; } figcaption { color: #555; font-size: 13px; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; }
svg { max-width: 100%; height: auto; }
`;

/** The training curves: loss with its terms and the lr; validation for fine-tuning runs. */
export function curveCharts(s: RunSummary): LineChart[] {
  const ctx = { run: runTitle(s) };
  const charts = [lossChart(s.records, s.manifest.task ? [] : CAE_LOSS_TERMS, ctx)];
  if (s.manifest.task) charts.push(validationChart(s.records, ctx));
  return charts;
}

/** report.html of a run, from its summary. */
export function renderReportHtml(s: RunSummary, generated = new Date()): string {
  const title = runTitle(s);
  const charts = [...curveCharts(s), throughputChart(s.records, { run: title })];
  const r = s.reconstruction;
  const figure = r
    ? `<h2>Reconstructions</h2><figure><img alt="reconstructions" src="data:image/png;base64,${fs
        .readFileSync(path.join(s.runDir, r.file))
        .toString(
          'base64',
        )}"><figcaption>Step ${r.step}, ${r.images} ${r.heldOut ? 'held-out' : 'training'} images. Columns: original | masked input (masked patches grey) | masked patches reconstructed | every patch reconstructed. Pixel MSE on masked patches ${fmt(r.maskedMse)}, whole image ${fmt(r.fullMse)}.</figcaption></figure>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="sub">${escapeHtml(path.resolve(s.runDir))} &middot; report written ${escapeHtml(generated.toISOString().slice(0, 19).replace('T', ' '))} UTC</div>
<h2>Run</h2>
${overview(s)}
<h2>Curves</h2>
${charts.map((c) => `<figure class="chart">${lineChartSvg(c)}</figure>`).join('\n')}
${figure}
<h2>Evaluations</h2>
${evaluationRows(s.evaluations)}
<h2>Checkpoints</h2>
${grid(
  ['step', 'folder', 'size', 'written'],
  s.checkpoints.map((c) => [
    String(c.step),
    path.relative(s.runDir, c.dir),
    `${(c.bytes / 1e6).toFixed(1)} MB`,
    c.time.toISOString().slice(0, 19).replace('T', ' '),
  ]),
)}
<h2>Next</h2>
${nextSteps(s)}
</body></html>
`;
}
