import { PRESETS } from '../../../graph-builder/cae/config';
import { lineChartSvg } from '../../../runtime/report/line-chart';
import { lossChart } from '../../../runtime/report/run-charts';
import { formatProgress } from '../../../runtime/train/progress';
import type { StepMetrics } from '../../../runtime/train/step-metrics';
import type { Backend, PageRequest, PickedFile, RunInfo, TrainingData, WorkerMessage } from '../protocol';

/**
 * The page: a form for the run, the worker that trains (train-worker.ts), and what it reports: the
 * backend, a status line, the loss chart, reconstruction figures, and downloads. `window.caeOnnx`
 * mirrors the state for scripts that drive the page (the browser test).
 */

type Status = 'idle' | 'starting' | 'running' | 'finished' | 'stopped' | 'error';

interface PageState {
  status: Status;
  backend?: string;
  run?: RunInfo;
  metrics: StepMetrics[];
  figures: number;
  errors: string[];
  lastFigureStep?: number;
}

const state: PageState = { status: 'idle', metrics: [], figures: 0, errors: [] };
(window as Window & { caeOnnx?: PageState }).caeOnnx = state;

function element<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page lacks #${id}`);
  return e as T;
}

const form = element<HTMLFormElement>('run-form');
const preset = element<HTMLSelectElement>('preset');
const statusLine = element<HTMLParagraphElement>('status');
const log = element<HTMLPreElement>('log');
const buttons = {
  start: element<HTMLButtonElement>('start'),
  stop: element<HTMLButtonElement>('stop'),
  checkpoint: element<HTMLButtonElement>('download-checkpoint'),
  encoder: element<HTMLButtonElement>('download-encoder'),
};

for (const name of Object.keys(PRESETS)) preset.add(new Option(name, name, name === 'cae-tiny-28'));

/** Form fields may be preset from the address: ?preset=cae-tiny-28&batch=8&steps=20&backend=wasm ... */
function fillFromAddress(): void {
  const q = new URLSearchParams(location.search);
  const fields: Record<string, string> = {
    preset: 'preset',
    batch: 'batch',
    steps: 'steps',
    seed: 'seed',
    lr: 'lr',
    limit: 'limit',
    backend: 'backend-choice',
    reconstructEvery: 'reconstruct-every',
  };
  for (const [key, id] of Object.entries(fields)) {
    const v = q.get(key);
    if (v !== null) element<HTMLInputElement>(id).value = v;
  }
}
fillFromAddress();

function say(line: string): void {
  log.textContent += `${line}\n`;
  log.scrollTop = log.scrollHeight;
}

function setStatus(status: Status, line: string): void {
  state.status = status;
  statusLine.textContent = line;
  statusLine.classList.toggle('error', status === 'error');
  const busy = status === 'starting' || status === 'running';
  buttons.start.disabled = busy;
  buttons.stop.disabled = status !== 'running';
  const trained = state.run !== undefined && status !== 'starting';
  buttons.checkpoint.disabled = !trained;
  buttons.encoder.disabled = !trained;
}

const optionalNumber = (id: string): number | undefined => {
  const v = element<HTMLInputElement>(id).value.trim();
  return v === '' ? undefined : Number(v);
};

/** The picked folder's files with paths inside it, and its name. */
function pickedFolder(id: string): { name: string; files: PickedFile[] } | undefined {
  const list = element<HTMLInputElement>(id).files;
  if (!list || list.length === 0) return undefined;
  const files = [...list].map((file) => {
    const rel = file.webkitRelativePath || file.name;
    return { path: rel.slice(rel.indexOf('/') + 1), file, top: rel.slice(0, rel.indexOf('/')) };
  });
  return { name: files[0].top || 'folder', files: files.map(({ path, file }) => ({ path, file })) };
}

function startRequest(): PageRequest {
  const checked = (name: string) =>
    form.querySelector<HTMLInputElement>(`input[name=${name}]:checked`)!.value;
  let data: TrainingData = { kind: 'mnist' };
  if (checked('data') === 'folder') {
    const folder = pickedFolder('data-folder');
    if (!folder) throw new Error('pick a folder of images, or choose MNIST');
    data = { kind: 'folder', ...folder };
  }
  const backend = element<HTMLSelectElement>('backend-choice').value as Backend;
  const reconstructEvery = optionalNumber('reconstruct-every') ?? 0;
  const settings = {
    steps: optionalNumber('steps'),
    seed: optionalNumber('seed'),
    lr: optionalNumber('lr'),
    limit: optionalNumber('limit'),
  };
  if (checked('start') === 'upload') {
    const folder = pickedFolder('run-folder');
    if (!folder) throw new Error('pick the run or build folder to continue');
    return { type: 'start', backend, data, reconstructEvery, run: { kind: 'upload', ...folder, settings } };
  }
  const run = { kind: 'new' as const, preset: preset.value, batch: optionalNumber('batch'), ...settings };
  return { type: 'start', backend, data, reconstructEvery, run };
}

let chartDrawn = 0;
function drawChart(force = false): void {
  if (!state.run || state.metrics.length === 0) return;
  // Redrawn at most twice a second: long runs have thousands of points.
  if (!force && performance.now() - chartDrawn < 500) return;
  chartDrawn = performance.now();
  const chart = lossChart(state.metrics, state.run.terms, {
    run: `${state.run.preset} on ${state.run.data}`,
  });
  element('loss-chart').innerHTML = lineChartSvg(chart);
}

/** The CLI's status line (progress.ts), from the last 20 steps' times. */
function progress(m: StepMetrics): string {
  const run = state.run!;
  const recent = state.metrics.slice(-20);
  const seconds = recent.reduce((s, r) => s + r.step_seconds, 0) / recent.length;
  const terms = run.terms.filter((t) => typeof m[t] === 'number').map((t) => [t, m[t] as number]);
  return formatProgress({
    step: m.step,
    total: run.steps,
    loss: m.loss,
    terms: Object.fromEntries(terms),
    lr: m.lr,
    secondsPerStep: seconds,
    imagesPerSecond: run.batch / seconds,
    etaSeconds: seconds * (run.steps - m.step),
  });
}

function drawFigure(m: Extract<WorkerMessage, { type: 'reconstruction' }>): void {
  const canvas = element<HTMLCanvasElement>('figure');
  canvas.width = m.width;
  canvas.height = m.height;
  const rgba = new Uint8ClampedArray(m.width * m.height * 4);
  for (let i = 0, j = 0; i < m.rgb.length; i += 3, j += 4) {
    rgba[j] = m.rgb[i];
    rgba[j + 1] = m.rgb[i + 1];
    rgba[j + 2] = m.rgb[i + 2];
    rgba[j + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, m.width, m.height), 0, 0);
  element('figure-caption').textContent =
    `step ${m.step}: masked-patch MSE ${m.maskedMse.toFixed(4)} (pixels in [0, 1]). Columns: original, ` +
    'masked input, reconstruction of the masked patches, full reconstruction.';
  state.figures++;
  state.lastFigureStep = m.step;
}

function save(name: string, bytes: Uint8Array, mime: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  say(`downloaded ${name} (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`);
}

const worker = new Worker('/train-worker.js', { type: 'module' });
worker.onerror = (e) => {
  state.errors.push(e.message);
  setStatus('error', `the training worker failed: ${e.message}`);
};
worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
  const m = event.data;
  switch (m.type) {
    case 'backend':
      state.backend = m.backend;
      element('backend').textContent = `backend: ${m.description}`;
      break;
    case 'log':
      say(m.line);
      break;
    case 'started':
      state.run = m.run;
      state.metrics = [...m.history];
      say(
        `${m.run.name}: ${m.run.preset}, ${(m.run.parameters / 1e6).toFixed(2)}M parameters, batch ${m.run.batch}, ` +
          `steps ${m.run.startStep + 1}-${m.run.steps}, data ${m.run.data}`,
      );
      setStatus('running', `running from step ${m.run.startStep}`);
      drawChart(true);
      break;
    case 'step':
      state.metrics.push(m.metrics);
      if (state.status === 'running') statusLine.textContent = progress(m.metrics);
      drawChart();
      break;
    case 'reconstruction':
      drawFigure(m);
      break;
    case 'ended':
      drawChart(true);
      if (state.status === 'error') {
        setStatus('error', `${statusLine.textContent} (stopped at step ${m.step})`);
        break;
      }
      setStatus(
        m.reason,
        `${m.reason} at step ${m.step}` + (state.metrics.length ? `; ${statusLine.textContent}` : ''),
      );
      break;
    case 'error':
      state.errors.push(m.message);
      say(`error: ${m.message}`);
      if (state.status === 'starting' || state.status === 'running') setStatus('error', m.message);
      break;
    case 'file':
      save(m.name, m.bytes, m.mime);
      break;
  }
};

form.addEventListener('submit', (event) => {
  event.preventDefault();
  try {
    const request = startRequest();
    state.metrics = [];
    state.run = undefined;
    setStatus('starting', 'starting...');
    worker.postMessage(request);
  } catch (e) {
    setStatus('error', (e as Error).message);
  }
});
buttons.stop.addEventListener('click', () => worker.postMessage({ type: 'stop' } satisfies PageRequest));
buttons.checkpoint.addEventListener('click', () =>
  worker.postMessage({ type: 'download', what: 'checkpoint' } satisfies PageRequest),
);
buttons.encoder.addEventListener('click', () =>
  worker.postMessage({ type: 'download', what: 'encoder' } satisfies PageRequest),
);
