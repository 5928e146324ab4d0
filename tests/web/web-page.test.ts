/**
 * `cae-onnx web` as a user runs it: the CLI serves the page, headless Chromium (Debian's chromium,
 * installed by .ci/run) trains cae-tiny-28 on MNIST in the tab with WASM and with WebGPU on
 * SwiftShader, and the files the page hands out work in the CLI: the downloaded checkpoint resumes
 * (on the same trajectory as a CLI-only run), exports and probes; the page's encoder.onnx probes; a
 * CLI run folder picked in the page continues there on that trajectory too.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import sharp from 'sharp';
import { CLI, cli } from '../helpers/cli';
import { unzip } from '../helpers/unzip';

jest.setTimeout(600_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** WebGPU in headless Chromium on SwiftShader, its CPU Vulkan driver (no GPU here). */
const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
];
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-web-'));
/** The run every page run is compared with: the same preset, batch, steps and seed in the CLI. */
const SETTINGS = { batch: 8, steps: 25, seed: 0 };
const cliRun = path.join(root, 'cli');
const cliLosses = new Map<number, number>();

let server: ChildProcess;
let url: string;
let browser: Browser;

interface StepRecord {
  step: number;
  loss: number;
}
interface PageState {
  status: string;
  backend?: string;
  metrics: StepRecord[];
  figures: number;
  errors: string[];
}

const readMetrics = (run: string): StepRecord[] =>
  fs
    .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as StepRecord);

/** Largest |a - b| / |b| over the given steps, against the CLI run. */
function worstRelativeDifference(records: readonly StepRecord[]): number {
  return Math.max(
    ...records.map((r) => Math.abs(r.loss - cliLosses.get(r.step)!) / Math.abs(cliLosses.get(r.step)!)),
  );
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

beforeAll(async () => {
  const trained = await cli(
    'train',
    ...['--batch', `${SETTINGS.batch}`, '--steps', `${SETTINGS.steps}`, '--seed', `${SETTINGS.seed}`],
    ...['--checkpoint-every', '10', '--out', cliRun],
  );
  expect(trained.code).toBe(0);
  for (const m of readMetrics(cliRun)) cliLosses.set(m.step, m.loss);

  server = spawn(process.execPath, [CLI, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /open (http:\/\/\S+) in a browser/.exec(out);
      if (m) resolve(m[1]);
    });
    server.once('exit', (code) => reject(new Error(`cae-onnx web exited (${code}): ${out}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...WEBGPU_FLAGS] });
});

afterAll(async () => {
  await browser?.close();
  server?.kill('SIGINT');
});

async function openPage(query: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1100, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(`${url}?${query}`);
  return { page, problems };
}

const pageState = (page: Page) => page.evaluate(() => Reflect.get(globalThis, 'caeOnnx') as PageState);

/** Starts the page's run and stops it once `steps` updates are done (or waits for its end). */
async function trainOnPage(page: Page, steps?: number): Promise<PageState> {
  await page.click('#start');
  if (steps !== undefined) {
    await page.waitForFunction(
      (n) => {
        const s = Reflect.get(globalThis, 'caeOnnx') as PageState;
        return s.metrics.length >= n || s.status === 'error';
      },
      steps,
      { timeout: 400_000, polling: 200 },
    );
    await page.click('#stop');
  }
  await page.waitForFunction(
    () => ['finished', 'stopped', 'error'].includes((Reflect.get(globalThis, 'caeOnnx') as PageState).status),
    null,
    { timeout: 400_000, polling: 200 },
  );
  return pageState(page);
}

async function download(page: Page, button: string, file: string): Promise<string> {
  const [saved] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  const target = path.join(root, file);
  await saved.saveAs(target);
  return target;
}

test('the server isolates the page (threaded WASM) and serves nothing outside its table', async () => {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
  for (const probe of ['package.json', '../package.json', '%2e%2e/package.json', 'ort/../package.json'])
    expect((await fetch(`${url}${probe}`)).status).toBe(404);
  const wasm = await fetch(`${url}ort/ort.webgpu.min.mjs`);
  expect(wasm.status).toBe(200);
  expect(wasm.headers.get('content-type')).toMatch(/javascript/);
});

test('cae-onnx web refuses a port in use and an impossible port in one line', async () => {
  const inUse = await cli('web', '--port', new URL(url).port);
  expect(inUse.code).not.toBe(0);
  expect(inUse.stderr.trim()).toMatch(/^cae-onnx: port \d+ is in use: pass another --port \(0: any\)$/);
  const impossible = await cli('web', '--port', '99999');
  expect(impossible.stderr.trim()).toBe('cae-onnx: --port 99999: a port is at most 65535');
});

test('WASM: cae-tiny-28 trains in the tab like the CLI; its checkpoint resumes, exports and probes in the CLI', async () => {
  const { page, problems } = await openPage(
    `batch=${SETTINGS.batch}&steps=${SETTINGS.steps}&seed=${SETTINGS.seed}&backend=wasm&reconstructEvery=10`,
  );
  expect(await page.evaluate(() => Reflect.get(globalThis, 'crossOriginIsolated'))).toBe(true);
  const state = await trainOnPage(page, 20);
  expect(state.errors).toEqual([]);
  expect(problems).toEqual([]);
  expect(state.status).toBe('stopped');
  expect(state.backend).toBe('wasm');
  expect(await page.textContent('#backend')).toMatch(/WASM, \d+ threads?/);
  const losses = state.metrics.map((m) => m.loss);
  expect(losses.length).toBeGreaterThanOrEqual(20);
  expect(mean(losses.slice(-5))).toBeLessThan(0.8 * mean(losses.slice(0, 5)));
  expect(worstRelativeDifference(state.metrics.slice(0, 5))).toBeLessThan(1e-3);
  expect(worstRelativeDifference(state.metrics)).toBeLessThan(1e-3);
  expect(state.figures).toBeGreaterThanOrEqual(2); // steps 10 and 20, and at the stop
  expect(await page.$eval('#loss-chart svg', (svg) => svg.getBoundingClientRect().width)).toBeGreaterThan(
    600,
  );
  expect(await page.$eval('#figure', (c) => Reflect.get(c, 'width') as number)).toBeGreaterThan(100);

  // The run folder the page hands out is one the CLI continues on the same trajectory.
  const zip = await download(page, '#download-checkpoint', 'web-run.zip');
  await unzip(zip, path.join(root, 'web'));
  const run = path.join(root, 'web', 'web-cae-tiny-28');
  const resumed = await cli('train', '--resume', run);
  expect(resumed.stderr).toContain(`resuming ${run} from step-${String(losses.length).padStart(8, '0')}`);
  expect(resumed.code).toBe(0);
  const after = readMetrics(run);
  expect(after.map((m) => m.step)).toEqual(Array.from({ length: SETTINGS.steps }, (_, i) => i + 1));
  expect(worstRelativeDifference(after.slice(losses.length))).toBeLessThan(1e-3);

  const encoder = path.join(root, 'resumed-encoder.onnx');
  expect((await cli('export', '--checkpoint', run, '--out', encoder)).code).toBe(0);
  const knn = [
    '--data',
    'mnist:train',
    '--val',
    'mnist:test',
    '--mode',
    'knn',
    '--limit',
    '300',
    '--val-limit',
    '100',
  ];
  const probed = await cli('probe', '--encoder', encoder, ...knn, '--no-baseline');
  expect(probed.code).toBe(0);
  expect(probed.stdout + probed.stderr).toMatch(/knn probe top-1: \d+\.\d+%/);

  // The page's own encoder.onnx: what `cae-onnx export` would write, accepted by probe.
  const pageEncoder = await download(page, '#download-encoder', 'page-encoder.onnx');
  const probedPage = await cli('probe', '--encoder', pageEncoder, ...knn, '--no-baseline');
  expect(probedPage.code).toBe(0);
  expect(probedPage.stdout + probedPage.stderr).toMatch(/knn probe top-1: \d+\.\d+%/);
  await page.close();
});

test('WebGPU (SwiftShader): the tab trains on the GPU backend like the CLI on CPU', async () => {
  const { page, problems } = await openPage(
    `batch=${SETTINGS.batch}&steps=${SETTINGS.steps}&seed=${SETTINGS.seed}&backend=webgpu&reconstructEvery=10`,
  );
  const state = await trainOnPage(page, 20);
  expect(state.errors).toEqual([]);
  expect(problems).toEqual([]);
  expect(state.backend).toBe('webgpu');
  expect(await page.textContent('#backend')).toMatch(/WebGPU on .*swiftshader.*\(software\)/i);
  const losses = state.metrics.map((m) => m.loss);
  expect(losses.length).toBeGreaterThanOrEqual(20);
  expect(mean(losses.slice(-5))).toBeLessThan(0.8 * mean(losses.slice(0, 5)));
  expect(worstRelativeDifference(state.metrics.slice(0, 5))).toBeLessThan(1e-3);
  expect(state.figures).toBeGreaterThanOrEqual(1);
  await page.screenshot({ path: path.join(root, 'webgpu.png'), fullPage: true });
  await page.close();
});

test('a CLI run folder picked in the page continues there on the CLI trajectory', async () => {
  // The CLI run, as if stopped at step 20: its newest checkpoint removed.
  const partial = path.join(root, 'cli-partial');
  fs.cpSync(cliRun, partial, { recursive: true });
  fs.rmSync(path.join(partial, 'checkpoints', 'step-00000025'), { recursive: true });
  const { page, problems } = await openPage('backend=wasm&reconstructEvery=0');
  await page.check('input[name=start][value=upload]');
  await page.setInputFiles('#run-folder', partial);
  const state = await trainOnPage(page);
  expect(state.errors).toEqual([]);
  expect(problems).toEqual([]);
  expect(state.status).toBe('finished');
  expect(await page.textContent('#log')).toContain('continuing cli-partial from step 20 of 25');
  // The chart shows the CLI's steps 1-20 and the tab's 21-25.
  expect(state.metrics.map((m) => m.step)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  expect(worstRelativeDifference(state.metrics.slice(20))).toBeLessThan(1e-3);

  // A folder that is neither a run nor a build: one line on the page, nothing thrown.
  const stray = path.join(root, 'stray');
  fs.mkdirSync(stray);
  fs.writeFileSync(path.join(stray, 'notes.txt'), 'not a run\n');
  await page.setInputFiles('#run-folder', stray);
  const refused = await trainOnPage(page);
  expect(refused.status).toBe('error');
  expect(await page.textContent('#status')).toMatch(/^stray is neither a run folder .* nor a build folder/);
  await page.close();
});

test('a CLI build folder picked in the page starts a new run there, as the CLI runs it', async () => {
  const build = path.join(root, 'cli-build');
  expect((await cli('build', '--batch', `${SETTINGS.batch}`, '--out', build)).code).toBe(0);
  const { page, problems } = await openPage(
    `steps=${SETTINGS.steps}&seed=${SETTINGS.seed}&backend=wasm&reconstructEvery=0`,
  );
  await page.check('input[name=start][value=upload]');
  await page.setInputFiles('#run-folder', build);
  const state = await trainOnPage(page, 3);
  expect(state.errors).toEqual([]);
  expect(problems).toEqual([]);
  expect(await page.textContent('#log')).toContain('starting a run from the build cli-build');
  expect(worstRelativeDifference(state.metrics.slice(0, 3))).toBeLessThan(1e-3);
  await page.close();
});

test('a picked folder of images (RGB, one undecodable) trains cae-tiny-32 in the tab', async () => {
  const images = path.join(root, 'images');
  for (let i = 0; i < 24; i++) {
    const dir = path.join(images, i % 2 === 0 ? 'circles' : 'squares');
    fs.mkdirSync(dir, { recursive: true });
    const shape =
      i % 2 === 0
        ? `<circle cx="${20 + (i % 5)}" cy="18" r="${8 + (i % 7)}" fill="rgb(${(i * 40) % 255},90,200)"/>`
        : `<rect x="${6 + (i % 6)}" y="8" width="${18 + (i % 5)}" height="16" fill="rgb(220,${(i * 30) % 255},40)"/>`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="44" height="36"><rect width="44" height="36" fill="#eee"/>${shape}</svg>`;
    await sharp(Buffer.from(svg))
      .png()
      .toFile(path.join(dir, `${i}.png`));
  }
  fs.writeFileSync(path.join(images, 'squares', 'broken.png'), 'not a png at all');
  const { page, problems } = await openPage(
    'preset=cae-tiny-32&batch=8&steps=10&backend=wasm&reconstructEvery=5',
  );
  await page.check('input[name=data][value=folder]');
  await page.setInputFiles('#data-folder', images);
  const state = await trainOnPage(page);
  expect(state.errors).toEqual([]);
  expect(problems).toEqual([]);
  expect(state.status).toBe('finished');
  expect(state.metrics.map((m) => m.step)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  expect(state.metrics.every((m) => Number.isFinite(m.loss))).toBe(true);
  expect(state.figures).toBe(2);
  const log = await page.textContent('#log');
  expect(log).toContain('data images (25 images)');
  expect(log).toMatch(/skipped 1 undecodable image/);

  const zip = await download(page, '#download-checkpoint', 'folder-run.zip');
  await unzip(zip, path.join(root, 'folder-run'));
  const run = path.join(root, 'folder-run', 'web-cae-tiny-32');
  const checkpoint = path.join(run, 'checkpoints', 'step-00000010');
  const recorded = JSON.parse(fs.readFileSync(path.join(checkpoint, 'state.json'), 'utf8'));
  expect(recorded.options.data).toEqual({ kind: 'folder', dir: 'images' });
  expect(recorded.options.augment.flip).toBe(true); // folders flip, as in the CLI
  const encoder = path.join(root, 'folder-encoder.onnx');
  const exported = await cli('export', '--checkpoint', run, '--out', encoder);
  expect(exported.code).toBe(0);
  await page.close();
});

test('a diverging run stops with one line on the page and hands out no weights', async () => {
  // lr 1e4: the weights blow up within a few steps (the step depends on rounding, as it does in the CLI).
  const { page, problems } = await openPage('batch=8&steps=10&lr=10000&backend=wasm&reconstructEvery=0');
  const state = await trainOnPage(page);
  expect(problems).toEqual([]);
  expect(state.status).toBe('error');
  expect(await page.textContent('#status')).toMatch(
    /^the loss became non-finite at step \d+ \(lr [\d.]+e\+3\): try a lower lr/,
  );
  await page.click('#download-checkpoint');
  await page
    .locator('#log', { hasText: /nothing to download: the loss became non-finite at step \d+/ })
    .waitFor();
  await page.close();
});
