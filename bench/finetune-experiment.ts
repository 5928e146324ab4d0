/**
 * Fine-tuning on Fashion-MNIST (Debian `dataset-fashion-mnist`), every row with the same schedule:
 * from the CAE encoder, from the same encoder's random initialization, and from the lambda-0 (no
 * alignment) encoder, with layer decay 0.65 and 1.0. Pretraining is done beforehand with the CLI
 * (README "Results"); this script runs `cae-onnx finetune` per row, two at a time with one thread
 * each, and writes top-1 on the 10k test set per epoch and at the end.
 *
 *   npm run build && npm run bench:build && node dist-bench/bench/finetune-experiment.js \
 *     --cae fm/cae --random fm/build --noalign fm/l0 [--epochs 5] [--data /usr/share/datasets/fashion-mnist] \
 *     [--runs fm/finetune] [--parallel 2] [--only 'CAE, decay 0.65'] [--out fashion-mnist-finetune.json]
 *     [--cli dist/cli/main.js]  (a copy of dist keeps later rows on the same code while you rebuild)
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const FASHION_CLASSES = 'T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot';

function flag(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

interface Row {
  readonly name: string;
  readonly from: string;
  readonly layerDecay: number;
}

interface RowResult extends Row {
  readonly top1: number;
  readonly perEpoch: number[];
  readonly seconds: number;
}

async function fineTune(row: Row, o: { data: string; epochs: number; runs: string }): Promise<RowResult> {
  const out = path.join(o.runs, row.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
  const started = Date.now();
  const args = [
    path.resolve(flag('cli', path.join(__dirname, '../../dist/cli/main.js'))),
    'finetune',
    '--from',
    row.from,
    '--data',
    path.join(o.data, 'train-images-idx3-ubyte.gz'),
    '--val',
    path.join(o.data, 't10k-images-idx3-ubyte.gz'),
    '--class-names',
    FASHION_CLASSES,
    '--epochs',
    String(o.epochs),
    '--layer-decay',
    String(row.layerDecay),
    '--threads',
    '1',
    '--log-every',
    '100',
    '--out',
    out,
    '--force',
  ];
  await run(process.execPath, args, { maxBuffer: 64 << 20 });
  const metrics = fs
    .readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  const perEpoch = metrics.filter((m) => typeof m.val_top1 === 'number').map((m) => m.val_top1);
  const result = { ...row, top1: perEpoch.at(-1)!, perEpoch, seconds: (Date.now() - started) / 1000 };
  console.log(
    `${row.name}: top-1 ${(100 * result.top1).toFixed(2)}% (${perEpoch.map((a) => (100 * a).toFixed(1)).join(' -> ')}), ${result.seconds.toFixed(0)} s`,
  );
  return result;
}

async function main(): Promise<void> {
  const o = {
    data: flag('data', '/usr/share/datasets/fashion-mnist'),
    epochs: Number(flag('epochs', '5')),
    runs: flag('runs', 'fm/finetune'),
  };
  const rows: Row[] = [
    { name: 'CAE, decay 0.65', from: flag('cae'), layerDecay: 0.65 },
    { name: 'random init, decay 0.65', from: flag('random'), layerDecay: 0.65 },
    { name: 'CAE lambda 0, decay 0.65', from: flag('noalign'), layerDecay: 0.65 },
    { name: 'CAE, decay 1.0', from: flag('cae'), layerDecay: 1 },
    { name: 'random init, decay 1.0', from: flag('random'), layerDecay: 1 },
  ].filter((r) => !process.argv.includes('--only') || flag('only') === r.name);
  const parallel = Number(flag('parallel', '2'));
  const results: RowResult[] = [];
  const queue = [...rows];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let row = queue.shift(); row; row = queue.shift()) results.push(await fineTune(row, o));
    }),
  );
  results.sort(
    (a, b) =>
      rows.indexOf(rows.find((r) => r.name === a.name)!) - rows.indexOf(rows.find((r) => r.name === b.name)!),
  );
  const out = flag('out', 'fashion-mnist-finetune.json');
  fs.writeFileSync(out, `${JSON.stringify({ epochs: o.epochs, data: o.data, results }, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
