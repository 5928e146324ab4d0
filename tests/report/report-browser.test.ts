/**
 * The run report as a user opens it: a real run through the CLI (train, export, probe, finetune),
 * then report.html from disk in headless Chromium (Debian's chromium, installed by .ci/run): no
 * console errors, nothing fetched from anywhere, the charts, the reconstruction and the recorded
 * evaluations are on the page.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { cli } from '../helpers/cli';
import { smallBuild } from '../helpers/small-cae';

jest.setTimeout(180_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-report-'));
const run = path.join(root, 'run');

beforeAll(async () => {
  const build = smallBuild();
  const trained = await cli(
    'train',
    ...['--build', build, '--steps', '8', '--limit', '64', '--checkpoint-every', '4', '--out', run],
  );
  expect(trained.code).toBe(0);
  expect(trained.stderr).toContain(`report: ${path.join(run, 'report.html')}`);
  expect(trained.stderr).toMatch(/Next:\n {2}cae-onnx export --checkpoint .*\n {2}cae-onnx probe --encoder/);
  const encoder = path.join(run, 'encoder.onnx');
  expect((await cli('export', '--checkpoint', run, '--out', encoder)).code).toBe(0);
  const probe = await cli(
    'probe',
    ...['--encoder', encoder, '--data', 'mnist:train', '--val', 'mnist:test', '--mode', 'knn'],
    ...['--limit', '300', '--val-limit', '100'],
  );
  expect(probe.code).toBe(0);
  const tuned = await cli(
    'finetune',
    ...['--from', run, '--data', 'mnist:train', '--val', 'mnist:test', '--limit', '64', '--val-limit', '32'],
    ...['--epochs', '1', '--out', path.join(root, 'tuned')],
  );
  expect(tuned.code).toBe(0);
  expect(tuned.stderr).toContain(`recorded in ${path.join(run, 'report.html')}`);
});

test('report.html renders in Chromium from disk with no errors and shows the run', async () => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const problems: string[] = [];
    const fetched: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    page.on('request', (r) => fetched.push(r.url()));
    const url = pathToFileURL(path.join(run, 'report.html')).href;
    await page.goto(url, { waitUntil: 'load' });
    expect(problems).toEqual([]);
    // Self-contained: the page itself and inline data, nothing else.
    expect(fetched.filter((u) => u !== url && !u.startsWith('data:'))).toEqual([]);

    expect(await page.locator('h1').textContent()).toBe('cae-tiny-28 on MNIST (train)');
    expect(await page.locator('table.kv').textContent()).toMatch(/finished: 8 steps/);
    // MFU per step against the MatMul peak measured at the start: a fraction of it, not a unit slip.
    const mfu = await page.locator('table.kv tr:has-text("MFU") td').textContent();
    expect(Number(/^([\d.]+)%$/.exec(mfu!)?.[1])).toBeGreaterThan(0.1);
    expect(Number(/^([\d.]+)%$/.exec(mfu!)?.[1])).toBeLessThan(100);
    // Two charts (loss, throughput), drawn with their titles, axis names and legends.
    const charts = page.locator('figure.chart svg');
    expect(await charts.count()).toBe(2);
    const chartText = (await charts.allTextContents()).join(' ');
    for (const s of ['training loss', 'learning rate', 'rec (reconstruction)', 'images / s', 'MFU', 'step'])
      expect(chartText).toContain(s);
    const box = await charts.first().boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    // The reconstruction figure decoded (a broken data URI has naturalWidth 0).
    const width = await page
      .locator('img[alt="reconstructions"]')
      .evaluate((i) => Reflect.get(i, 'naturalWidth') as number);
    expect(width).toBeGreaterThan(100);
    // The probe and the fine-tuning run were recorded against this run.
    const evaluations = await page.locator('h2:has-text("Evaluations") + table tbody tr').allTextContents();
    expect(evaluations).toHaveLength(2);
    expect(evaluations[0]).toMatch(/knn probe \(cls\).*%.*%/);
    expect(evaluations[1]).toMatch(/fine-tuning, 1 epoch \(tuned\)/);
    expect(await page.locator('h2:has-text("Checkpoints") + table tbody tr').count()).toBe(2);
    await page.screenshot({ path: path.join(root, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

test('the fine-tuning run has its own report with the validation chart', async () => {
  const html = fs.readFileSync(path.join(root, 'tuned', 'report.html'), 'utf8');
  expect(html).toContain('cae-tiny-28 fine-tuning on MNIST (train)');
  expect(html).toContain('validation');
  expect(html).toContain('top-1 (%)');
});

test('cae-onnx report rewrites a run folder report; bad folders are one-line errors', async () => {
  const page = path.join(run, 'report.html');
  const before = fs.readFileSync(page, 'utf8');
  fs.rmSync(page);
  fs.rmSync(path.join(run, 'loss.png'));
  const r = await cli('report', run);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`wrote ${page}\n`);
  expect(fs.existsSync(path.join(run, 'loss.png'))).toBe(true);
  // The same page but for the time it was written (and ECharts' per-process style class counters).
  const strip = (html: string) =>
    html
      .replace(/report written [^<]*UTC/, '')
      .replace(/zr\d+-cls-\d+/g, 'zr-cls')
      .replace(/zr\d+-/g, 'zr-');
  expect(strip(fs.readFileSync(page, 'utf8'))).toBe(strip(before));
  const missing = await cli('report', path.join(root, 'nope'));
  expect([missing.code, missing.stderr]).toEqual([
    1,
    `cae-onnx: no such run folder: ${path.join(root, 'nope')}\n`,
  ]);
  const empty = await cli('report', root);
  expect(empty.code).toBe(1);
  expect(empty.stderr).toMatch(/holds no checkpoint of a training run yet: nothing to report\n$/);
});
