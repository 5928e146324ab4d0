import { readModelFile } from '../../artifacts/onnx-file';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { DType, dtypeFromOnnxCode } from '../../graph-builder/core/dtype';
import { fromOrt, toOrt } from '../tensor-convert';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { NEXT } from '../../graph-builder/training/step-graphs';
import { ModelSession, runsOnWebgpu, SessionConfig } from '../session';
import { DeviceDownloader } from '../device-download';
import { carryOutputs } from './carried-state';

/**
 * Session options for training-step graphs. Memory-pattern planning off: it pre-allocates one block
 * for all of a run's intermediates, and on cae-small (batch 16, 2 threads) turning it off cut peak
 * RSS from 3.7 to 2.5 GiB at the same step time (bench/train-step.ts --no-mem-pattern, paired runs).
 */
export const TRAIN_SESSION_DEFAULTS: Pick<SessionConfig, 'memoryPattern'> = { memoryPattern: false };

/**
 * Runs a `train_step` graph repeatedly, carrying parameters and optimizer state from each step's
 * `X.next` outputs to the next step's `X` inputs (see step-graphs.ts for the naming convention).
 * State inputs without an initial value (optimizer moments) start at zero.
 *
 * On the host, state lives in two sets of buffers used in turn: a step reads one set and ORT writes
 * the `.next` outputs into the other (pre-allocated outputs), so no step allocates or copies its
 * state. Steady-state step time is unchanged; cae-base settles two steps sooner and peaks 0.34 GiB
 * lower (bench/results/preallocated-state-ab.json).
 * A tensor of `state` is therefore overwritten two steps later; `snapshot()` returns copies. The
 * caller's initial tensors are never written.
 */
export class StepSession {
  /** With deviceState: the carried tensors as they live on the device between steps. */
  private readonly device = new Map<string, ort.Tensor>();
  private downloader?: DeviceDownloader;
  /** Host state: the buffer each `X.next` is written into by the next step. */
  private readonly spare = new Map<string, TensorData>();
  /** Until the first step has run, the carried state is the caller's (never written into). */
  private stateIsCallers = true;

  private constructor(
    private readonly session: ModelSession,
    readonly state: Map<string, TensorData>,
    private readonly stateNames: readonly string[],
    private readonly deviceState: boolean,
    private readonly config: SessionConfig,
  ) {
    if (deviceState) for (const [k, v] of state) this.device.set(k, toOrt(v));
  }

  /**
   * deviceState (default: on when the session runs on WebGPU): the `.next` outputs stay on the GPU
   * ('gpu-buffer') and are fed back as they are, so parameters and optimizer state never cross to
   * the host between steps; `snapshot()` downloads them for checkpoints.
   */
  static async create(
    model: string | onnx.ModelProto,
    initial: ReadonlyMap<string, TensorData>,
    config: SessionConfig = {},
    options: { deviceState?: boolean; location?: 'gpu-buffer' | 'cpu' } = {},
  ): Promise<StepSession> {
    const proto = typeof model === 'string' ? readModelFile(model) : model;
    const outputs = new Set((proto.graph?.output ?? []).map((o) => o.name ?? ''));
    const state = new Map<string, TensorData>();
    const stateNames: string[] = [];
    for (const input of proto.graph?.input ?? []) {
      const name = input.name ?? '';
      if (!outputs.has(`${name}${NEXT}`)) {
        if (initial.has(name)) state.set(name, initial.get(name)!);
        continue;
      }
      stateNames.push(name);
      const given = initial.get(name);
      if (given) {
        state.set(name, given);
        continue;
      }
      const type = input.type?.tensorType;
      const shape = (type?.shape?.dim ?? []).map((d) => Number(d.dimValue));
      state.set(name, tensorData(dtypeFromOnnxCode(type?.elemType ?? 1), shape));
    }
    const deviceState = options.deviceState ?? runsOnWebgpu(config);
    const sessionConfig = deviceState
      ? { ...config, outputsOnDevice: stateNames.map((n) => `${n}${NEXT}`) }
      : config;
    return new StepSession(
      await ModelSession.create(model, sessionConfig),
      state,
      stateNames,
      deviceState,
      config,
    );
  }

  /** One step: data feeds and scalars in, non-state outputs back; state advances. */
  async run(feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
    if (this.deviceState) return this.runOnDevice(feeds);
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, v] of this.state) inputs[k] = toOrt(v);
    for (const [k, v] of Object.entries(feeds)) inputs[k] = toOrt(v);
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of this.session.outputNames) fetches[name] = null;
    for (const name of this.stateNames) fetches[`${name}${NEXT}`] = toOrt(this.spareFor(name));
    const out = await this.session.runOrt(inputs, fetches);
    for (const name of this.stateNames) {
      const read = this.state.get(name)!;
      this.state.set(name, this.spare.get(name)!);
      if (this.stateIsCallers) this.spare.delete(name);
      else this.spare.set(name, read);
    }
    this.stateIsCallers = false;
    const results: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(out)) if (!name.endsWith(NEXT)) results[name] = fromOrt(t);
    return results;
  }

  /** The buffer the next step writes `name.next` into, allocated on first use. */
  private spareFor(name: string): TensorData {
    let t = this.spare.get(name);
    if (!t) {
      const current = this.state.get(name)!;
      t = tensorData(current.dtype, current.shape);
      this.spare.set(name, t);
    }
    return t;
  }

  private async runOnDevice(
    feeds: Readonly<Record<string, TensorData>>,
  ): Promise<Record<string, TensorData>> {
    const inputs: Record<string, ort.Tensor> = Object.fromEntries(this.device);
    for (const [k, v] of Object.entries(feeds)) inputs[k] = toOrt(v);
    const out = await this.session.runOrt(inputs);
    const results = carryOutputs(out, this.device);
    return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, fromOrt(t)]));
  }

  /**
   * The session's tensors on the host: carried ones copied (their buffers are written again two
   * steps on) or downloaded from the device when they live there.
   */
  async snapshot(): Promise<Map<string, TensorData>> {
    if (!this.deviceState) {
      const carried = new Set(this.stateNames);
      return new Map(
        [...this.state].map(([name, t]) => [
          name,
          carried.has(name) ? tensorData(t.dtype, t.shape, t.data.slice()) : t,
        ]),
      );
    }
    this.downloader ??= await DeviceDownloader.create(
      [...this.device].map(([name, t]) => ({ name, dtype: t.type as DType, shape: t.dims })),
      this.config,
    );
    return this.downloader.download(this.device);
  }

  /** Names of the tensors carried between steps (parameters and optimizer state). */
  get carried(): readonly string[] {
    return this.stateNames;
  }

  /** Ends ORT profiling (when enabled) and returns the profile file. */
  endProfiling(): string {
    return this.session.endProfiling();
  }

  async release(): Promise<void> {
    for (const t of this.device.values()) if (t.location === 'gpu-buffer') t.dispose();
    this.device.clear();
    await this.downloader?.release();
    await this.session.release();
  }
}

export { stepScalars } from './step-scalars';
