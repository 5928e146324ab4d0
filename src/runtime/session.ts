import { readModelFile } from '../artifacts/onnx-file';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { TensorData } from '../graph-builder/core/tensor-data';
import { fromOrt, toOrt } from './tensor-convert';

export interface SessionConfig {
  /** Threads for one op (ORT intra-op pool); default: ORT's choice (all cores). */
  readonly threads?: number;
  readonly executionProviders?: ort.InferenceSession.ExecutionProviderConfig[];
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  readonly enableProfiling?: boolean;
  /** Path prefix of the profile file (ORT appends a timestamp and .json). */
  readonly profilePrefix?: string;
  /** ORT's CPU memory arena (default on). */
  readonly memoryArena?: boolean;
  /** ORT's memory-pattern planning, which pre-allocates one block for a run's intermediates (default on). */
  readonly memoryPattern?: boolean;
  /** Outputs to leave on the device ('gpu-buffer', WebGPU EP) instead of copying them to the host. */
  readonly outputsOnDevice?: readonly string[];
  /**
   * Threads running independent nodes at once (ORT's parallel execution mode when > 1). Default 1:
   * parallel mode made train steps 1.5-2.2x slower on 2 cores (bench/results/session-threads-ab.json).
   */
  readonly interOpThreads?: number;
}

/** Whether a session config runs on the WebGPU provider (whose outputs can stay on the GPU). */
export function runsOnWebgpu(config: SessionConfig): boolean {
  return (config.executionProviders ?? []).some((p) => (typeof p === 'string' ? p : p.name) === 'webgpu');
}

/** An ORT failure, annotated with the model code that built the failing node. */
export class ModelRunError extends Error {
  override name = 'ModelRunError';
}

/**
 * An onnxruntime-node session over a cae-onnx model. ORT errors that name a node are rethrown with
 * the source location recorded in that node's doc_string at build time.
 */
export class ModelSession {
  private constructor(
    readonly session: ort.InferenceSession,
    private readonly callSites: ReadonlyMap<string, string>,
    private readonly profilePrefix?: string,
  ) {}

  /** From a model file (external data resolved next to it) or an in-memory ModelProto. */
  static async create(model: string | onnx.ModelProto, config: SessionConfig = {}): Promise<ModelSession> {
    const proto = typeof model === 'string' ? readModelFile(model) : model;
    const callSites = new Map<string, string>();
    for (const n of proto.graph?.node ?? []) if (n.name && n.docString) callSites.set(n.name, n.docString);
    const options: ort.InferenceSession.SessionOptions = {
      interOpNumThreads: config.interOpThreads ?? 1,
      executionMode: (config.interOpThreads ?? 1) > 1 ? 'parallel' : 'sequential',
      executionProviders: config.executionProviders ?? ['cpu'],
      graphOptimizationLevel: config.graphOptimizationLevel ?? 'all',
      enableProfiling: config.enableProfiling ?? false,
    };
    if (config.profilePrefix) options.profileFilePrefix = config.profilePrefix;
    if (config.memoryArena !== undefined) options.enableCpuMemArena = config.memoryArena;
    if (config.memoryPattern !== undefined) options.enableMemPattern = config.memoryPattern;
    if (config.outputsOnDevice) {
      options.preferredOutputLocation = Object.fromEntries(
        config.outputsOnDevice.map((n) => [n, 'gpu-buffer' as const]),
      );
    }
    if (config.threads !== undefined) options.intraOpNumThreads = config.threads;
    const session = await annotate(callSites, () =>
      typeof model === 'string'
        ? ort.InferenceSession.create(model, options)
        : ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), options),
    );
    return new ModelSession(session, callSites, config.profilePrefix);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; outputs are fresh host buffers (onnxruntime-node copies every output). */
  async run(
    feeds: Readonly<Record<string, TensorData>>,
    fetches?: readonly string[],
  ): Promise<Record<string, TensorData>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
    const result = await this.runOrt(ortFeeds, fetches);
    const out: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(result)) out[name] = fromOrt(t);
    return out;
  }

  /**
   * Runs on ORT tensors as they are (device tensors stay on the device). Fetches are output names,
   * or every output by name: null for a fresh buffer, or a host tensor that ORT writes into.
   */
  async runOrt(
    feeds: Readonly<Record<string, ort.Tensor>>,
    fetches?: readonly string[] | Readonly<Record<string, ort.Tensor | null>>,
  ): Promise<Record<string, ort.Tensor>> {
    return annotate(this.callSites, () =>
      fetches ? this.session.run({ ...feeds }, fetches) : this.session.run({ ...feeds }),
    );
  }

  /** Ends ORT profiling (when enabled) and returns the profile file it wrote. */
  endProfiling(): string {
    this.session.endProfiling();
    const prefix = this.profilePrefix ?? 'onnxruntime_profile_';
    const dir = path.dirname(path.resolve(prefix));
    const base = path.basename(prefix);
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(base) && f.endsWith('.json'))
      .map((f) => path.join(dir, f));
    if (files.length === 0) throw new Error(`no ORT profile found for prefix ${prefix}`);
    return files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

async function annotate<T>(callSites: ReadonlyMap<string, string>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const node = /Name:'([^']+)'/.exec(message)?.[1] ?? /node\s+'?([^'\s]+)'?/.exec(message)?.[1];
    const site = node ? callSites.get(node) : undefined;
    throw new ModelRunError(site ? `${message}\n  node ${node} was built at ${site}` : message);
  }
}
