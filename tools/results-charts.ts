/**
 * Charts of the README's results, drawn from the JSON the experiments wrote (bench/results/), with
 * the same charting as the run reports:
 *
 *   npm run bench:build && node dist-bench/tools/results-charts.js   # writes docs/*.png
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeChartsPng } from '../src/runtime/report/chart-png';
import { lineChartSvg, PALETTE } from '../src/runtime/report/line-chart';

const root = path.resolve(__dirname, '../..');
const results = (name: string) => JSON.parse(fs.readFileSync(path.join(root, 'bench/results', name), 'utf8'));

interface FinetuneResults {
  readonly epochs: number;
  readonly results: readonly { readonly name: string; readonly perEpoch: readonly number[] }[];
}

async function finetuneChart(): Promise<string> {
  const r = results('fashion-mnist-finetune-10-epochs.json') as FinetuneResults;
  const file = path.join(root, 'docs/finetune-fashion-mnist.png');
  const svg = lineChartSvg({
    title: `Fine-tuning cae-tiny-28 on Fashion-MNIST: test top-1 after each of ${r.epochs} epochs`,
    subtitle: 'same recipe and schedule for every start; bench/results/fashion-mnist-finetune-10-epochs.json',
    x: { name: 'epoch' },
    y: { name: 'top-1 (%)' },
    series: r.results.map((e, i) => ({
      name: e.name,
      points: e.perEpoch.map((a, k) => [k + 1, 100 * a] as const),
      color: PALETTE[i % PALETTE.length],
      style: e.name.includes('1.0') ? ('dashed' as const) : ('points' as const),
    })),
    height: 460,
  });
  await writeChartsPng([svg], file);
  return file;
}

async function main(): Promise<void> {
  for (const file of [await finetuneChart()]) process.stdout.write(`wrote ${path.relative(root, file)}\n`);
}

void main();
