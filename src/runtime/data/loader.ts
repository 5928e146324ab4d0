import { FileFormatError } from '../../artifacts/file-format-error';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { checkAugmentOptions } from './augment';
import { BatchBuilder } from './batch-builder';
import { mnistPaths } from './idx';
import { listImageFolder } from './image-folder';
import { nextPosition, normalizePosition, StreamPosition } from './order';
import type {
  Batch,
  BatchPayload,
  BuildSpec,
  DataShard,
  LoaderOptions,
  WorkerRequest,
  WorkerResponse,
} from './types';

export type { Batch, LoaderOptions, LoaderSource, TokenizerView } from './types';

/** Builds batches in this thread or in a worker thread. */
interface Executor {
  readonly size: number;
  readonly inFlight: number;
  run(epoch: number, position: number): Promise<BatchPayload>;
  close(): Promise<void>;
}

class InProcessExecutor implements Executor {
  inFlight = 0;
  private closed = false;

  constructor(private readonly builder: BatchBuilder) {}

  get size(): number {
    return this.builder.size;
  }

  async run(epoch: number, position: number): Promise<BatchPayload> {
    this.inFlight++;
    try {
      await new Promise((resolve) => setImmediate(resolve)); // not inside the caller's tick
      if (this.closed) throw new Error('loader closed');
      return await this.builder.build(epoch, position);
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * A JS entry for the worker: the compiled `loader-worker.js` next to this file (dist), or, when
 * running from the TypeScript sources (jest, ts tooling), a bootstrap that compiles `.ts` files on
 * the fly with @swc/core (a dev dependency) and then loads `loader-worker.ts`.
 */
function spawnWorker(spec: BuildSpec): Worker {
  const js = path.join(__dirname, 'loader-worker.js');
  if (fs.existsSync(js)) return new Worker(js, { workerData: spec });
  const ts = path.join(__dirname, 'loader-worker.ts');
  if (!fs.existsSync(ts)) throw new Error(`no loader-worker.js or loader-worker.ts in ${__dirname}`);
  const swc = require.resolve('@swc/core');
  const bootstrap = `
const fs = require('node:fs');
const { transformSync } = require(${JSON.stringify(swc)});
require.extensions['.ts'] = function (module, filename) {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    module: { type: 'commonjs' },
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
  });
  module._compile(code, filename);
};
require(${JSON.stringify(ts)});
`;
  return new Worker(bootstrap, { eval: true, workerData: spec });
}

/** How long a closing worker may take to finish the batch it is building before it is terminated. */
const CLOSE_GRACE_MS = 10_000;

interface Pending {
  resolve(payload: BatchPayload): void;
  reject(error: Error): void;
}

class WorkerExecutor implements Executor {
  size = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private dead: Error | null = null;
  private exited = false;

  private constructor(private readonly worker: Worker) {}

  get inFlight(): number {
    return this.pending.size;
  }

  static start(spec: BuildSpec, index: number): Promise<WorkerExecutor> {
    const ex = new WorkerExecutor(spawnWorker(spec));
    return new Promise((resolve, reject) => {
      let ready = false;
      ex.worker.on('message', (msg: WorkerResponse) => {
        if (msg.type === 'ready') {
          ready = true;
          ex.size = msg.size;
          ex.worker.unref(); // idle workers do not keep the process alive
          resolve(ex);
        } else if (msg.type === 'failed') {
          // The worker could not open the dataset: a file or folder the user gave.
          ex.fail(new FileFormatError(msg.message));
          reject(new FileFormatError(msg.message));
        } else {
          const p = ex.pending.get(msg.id);
          if (!p) return;
          ex.pending.delete(msg.id);
          if (ex.pending.size === 0) ex.worker.unref();
          if (msg.type === 'batch') p.resolve(msg.payload);
          else p.reject(new Error(msg.message));
        }
      });
      ex.worker.on('error', (e: Error) => {
        const err = new Error(`data loader worker ${index} crashed: ${e.message}`);
        ex.fail(err);
        if (!ready) reject(err);
      });
      ex.worker.on('exit', (code) => {
        ex.exited = true;
        const err = new Error(`data loader worker ${index} exited (code ${code})`);
        ex.fail(err);
        if (!ready) reject(err);
      });
    });
  }

  private fail(error: Error): void {
    if (this.dead) return;
    this.dead = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  run(epoch: number, position: number): Promise<BatchPayload> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // a batch is awaited: keep the process alive until it comes
      const req: WorkerRequest = { type: 'batch', id, epoch, position };
      this.worker.postMessage(req);
    });
  }

  /**
   * Lets the worker exit by itself, and terminates it only if it has not within CLOSE_GRACE_MS.
   * Why not terminate() at once: Node 20 aborted the whole process (NodePlatform::ForIsolate,
   * "Assertion failed: (data.first) != nullptr") when a worker was terminated while V8 was still
   * compiling its code on a background thread; a worker that exits by itself drains those first.
   */
  async close(): Promise<void> {
    this.fail(new Error('loader closed'));
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.ref(); // the process waits for the exit
    this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    const timer = setTimeout(() => void this.worker.terminate(), CLOSE_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

function checkInt(name: string, v: number, min: number): void {
  if (!(Number.isSafeInteger(v) && v >= min))
    throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
}

function checkOptions(o: LoaderOptions): void {
  checkInt('imageSize', o.imageSize, 1);
  checkInt('batchSize', o.batchSize, 1);
  if (o.channels !== 1 && o.channels !== 3)
    throw new Error(`channels must be 1 or 3, got ${String(o.channels)}`);
  if (!Number.isSafeInteger(o.seed)) throw new Error(`seed must be an integer, got ${o.seed}`);
  if (o.augment !== false) checkAugmentOptions(o.augment);
  if (o.tokenizer) {
    checkInt('tokenizer.size', o.tokenizer.size, 1);
    if (!(Number.isFinite(o.tokenizer.scale) && Number.isFinite(o.tokenizer.shift))) {
      throw new Error('tokenizer.scale and tokenizer.shift must be finite');
    }
  }
  if (o.workers !== undefined) checkInt('workers', o.workers, 0);
  if (o.prefetch !== undefined) checkInt('prefetch', o.prefetch, 1);
  if (o.limit !== undefined) checkInt('limit', o.limit, 1);
  if (o.shard) {
    checkInt('shard.ranks', o.shard.ranks, 1);
    checkInt('shard.perRank', o.shard.perRank, 1);
    if (!(Number.isInteger(o.shard.rank) && o.shard.rank >= 0 && o.shard.rank < o.shard.ranks))
      throw new Error(`shard.rank must be in 0..${o.shard.ranks - 1}, got ${o.shard.rank}`);
  }
  if (o.start) {
    checkInt('start.epoch', o.start.epoch, 0);
    checkInt('start.position', o.start.position, 0);
  }
}

/** The options with the source resolved to files: MNIST to its IDX files, a folder to its image list. */
function resolveSpec(o: LoaderOptions): BuildSpec {
  const common = {
    imageSize: o.imageSize,
    channels: o.channels,
    batchSize: o.batchSize,
    seed: o.seed,
    augment:
      o.augment === false
        ? (false as const)
        : { scale: o.augment.scale, ratio: o.augment.ratio, flip: o.augment.flip },
    mean: [...o.mean],
    std: [...o.std],
    tokenizer: o.tokenizer ? { ...o.tokenizer } : undefined,
    erase: o.erase ? { ...o.erase } : undefined,
    limit: o.limit,
  };
  const src = o.source;
  switch (src.kind) {
    case 'idx':
      return {
        ...common,
        source: {
          kind: 'idx',
          images: path.resolve(src.images),
          labels: src.labels && path.resolve(src.labels),
        },
      };
    case 'mnist':
      return { ...common, source: { kind: 'idx', ...mnistPaths(src.split) } };
    case 'folder': {
      const folder = listImageFolder(src.dir);
      if (folder.files.length === 0)
        throw new FileFormatError(`no images (.jpg, .jpeg, .png, .webp) under ${folder.root}`);
      const n = Math.min(folder.files.length, o.limit ?? Infinity);
      return {
        ...common,
        source: { kind: 'files', files: folder.files.slice(0, n), labels: folder.labels.slice(0, n) },
      };
    }
    default:
      throw new Error(`unknown source kind ${(src as { kind: unknown }).kind}`);
  }
}

function defaultWorkers(): number {
  if (process.env.JEST_WORKER_ID !== undefined) return 0;
  return Math.max(1, Math.min(2, os.cpus().length));
}

interface Slot {
  readonly at: StreamPosition;
  readonly next: StreamPosition;
  readonly payload: Promise<BatchPayload>;
}

/**
 * Batches of a dataset in a seeded order, decoded and augmented in worker threads with prefetching.
 * Each epoch is a permutation of the samples, cut into batches of `batchSize` (the last incomplete
 * batch is dropped). The stream of batches depends only on the options (not on the number of
 * workers), and `start` = a batch's `next` resumes it exactly.
 */
export class BatchLoader {
  readonly batchesPerEpoch: number;
  private readonly queue: Slot[] = [];
  private readonly skipped = new Set<string>();
  private cursor: StreamPosition;
  private failed: Error | null = null;
  private closed = false;

  private constructor(
    private readonly executors: Executor[],
    readonly size: number,
    private readonly batchSize: number,
    private readonly prefetch: number,
    start: StreamPosition,
    private readonly shard: DataShard = { rank: 0, ranks: 1, perRank: 1 },
  ) {
    this.batchesPerEpoch = Math.floor(size / batchSize);
    this.cursor = normalizePosition(start, batchSize, size);
    this.fill();
  }

  /** The batches of this rank in the next group of the stream, each with the group's end as `next`. */
  private nextGroup(): { at: StreamPosition; next: StreamPosition }[] {
    const { rank, ranks, perRank } = this.shard;
    const starts: StreamPosition[] = [];
    let at = this.cursor;
    for (let k = 0; k < ranks * perRank; k++) {
      starts.push(at);
      at = nextPosition(at, this.batchSize, this.size);
    }
    this.cursor = at;
    return starts.slice(rank * perRank, (rank + 1) * perRank).map((s) => ({ at: s, next: at }));
  }

  static async open(options: LoaderOptions): Promise<BatchLoader> {
    checkOptions(options);
    const spec = resolveSpec(options);
    const workers = options.workers ?? defaultWorkers();
    let executors: Executor[];
    if (workers === 0) {
      executors = [new InProcessExecutor(BatchBuilder.create(spec))];
    } else {
      const started = await Promise.allSettled(
        Array.from({ length: workers }, (_, i) => WorkerExecutor.start(spec, i)),
      );
      const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      const bad = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (bad) {
        await Promise.all(ok.map((ex) => ex.close()));
        throw bad.reason;
      }
      executors = ok;
    }
    const size = executors[0].size;
    if (size < options.batchSize) {
      await Promise.all(executors.map((ex) => ex.close()));
      throw new FileFormatError(
        `the dataset has ${size} samples, fewer than one batch of ${options.batchSize}`,
      );
    }
    const start = options.start ?? { epoch: 0, position: 0 };
    if (start.position > size) {
      await Promise.all(executors.map((ex) => ex.close()));
      throw new Error(`start.position ${start.position} is past the end of an epoch of ${size} samples`);
    }
    return new BatchLoader(executors, size, options.batchSize, options.prefetch ?? 4, start, options.shard);
  }

  /** Keeps `prefetch` batches (at least one group) in flight, each on the least busy executor. */
  private fill(): void {
    while (!this.closed && this.queue.length < this.prefetch) {
      for (const { at, next } of this.nextGroup()) {
        let ex = this.executors[0];
        for (const e of this.executors) if (e.inFlight < ex.inFlight) ex = e;
        const payload = ex.run(at.epoch, at.position).then((p) => {
          for (const f of p.skipped) this.skipped.add(f);
          return p;
        });
        payload.catch(() => undefined); // rejections surface in next()
        this.queue.push({ at, next, payload });
      }
    }
  }

  /** The next batch of the stream. */
  async next(): Promise<Batch> {
    if (this.closed) throw new Error('loader closed');
    if (this.failed) throw this.failed;
    this.fill();
    const slot = this.queue.shift();
    if (!slot) throw new Error('loader has no batch in flight');
    this.fill();
    let p: BatchPayload;
    try {
      p = await slot.payload;
    } catch (e) {
      this.failed = e instanceof Error ? e : new Error(String(e));
      throw this.failed;
    }
    return {
      images: p.images,
      labels: p.labels,
      ...(p.tokenizerImages ? { tokenizerImages: p.tokenizerImages } : {}),
      epoch: slot.at.epoch,
      position: slot.at.position,
      next: slot.next,
    };
  }

  /** Files that could not be decoded so far (each counted once), replaced by other samples. */
  stats(): { skipped: number; skippedFiles: string[] } {
    const skippedFiles = [...this.skipped].sort();
    return { skipped: skippedFiles.length, skippedFiles };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    await Promise.all(this.executors.map((ex) => ex.close()));
  }
}
