import type { GraphSpec } from '../../../artifacts/manifest-format';
import { tensorData, TensorData } from '../../../graph-builder/core/tensor-data';
import { NEXT } from '../../../graph-builder/training/step-graphs';
import { carryOutputs } from '../../../runtime/train/carried-state';
import { fromOrt, ort, toOrt } from './ort-web';

/**
 * A train_step graph on onnxruntime-web, run step after step: parameters and optimizer state go
 * from each step's `X.next` outputs to the next step's `X` inputs (the convention of
 * step-graphs.ts), and on WebGPU they stay on the GPU between steps. The page's StepSession.
 */
export class WebStepSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** Carried tensors, where they live now (CPU, or GPU buffers on WebGPU). */
    private readonly state: Map<string, ort.Tensor>,
  ) {}

  /** `initial` gives the carried tensors' starting values; those it lacks (AdamW moments) start at zero. */
  static async create(
    model: Uint8Array,
    spec: GraphSpec,
    initial: ReadonlyMap<string, TensorData>,
    backend: 'webgpu' | 'wasm',
  ): Promise<WebStepSession> {
    const outputs = new Set(spec.outputs.map((o) => o.name));
    const state = new Map<string, ort.Tensor>();
    for (const input of spec.inputs) {
      if (!outputs.has(`${input.name}${NEXT}`)) continue;
      const given = initial.get(input.name);
      state.set(input.name, toOrt(given ?? tensorData(input.dtype, input.shape.map(Number))));
    }
    const carried = [...state.keys()].map((name) => `${name}${NEXT}`);
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [backend],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(backend === 'webgpu'
        ? { preferredOutputLocation: Object.fromEntries(carried.map((n) => [n, 'gpu-buffer' as const])) }
        : {}),
    });
    return new WebStepSession(session, state);
  }

  /** One step: data feeds and scalars in, the non-carried outputs back; the state advances. */
  async run(feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
    const inputs: Record<string, ort.Tensor> = Object.fromEntries(this.state);
    for (const [k, v] of Object.entries(feeds)) inputs[k] = toOrt(v);
    const out = await this.session.run(inputs);
    const results: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(carryOutputs(out, this.state))) results[name] = await fromOrt(t);
    return results;
  }

  /** The carried tensors (or those named) on the CPU. */
  async snapshot(names: readonly string[] = [...this.state.keys()]): Promise<Map<string, TensorData>> {
    const out = new Map<string, TensorData>();
    for (const name of names) {
      const t = this.state.get(name);
      if (!t) throw new Error(`${name} is not carried between steps`);
      out.set(name, await fromOrt(t));
    }
    return out;
  }

  async release(): Promise<void> {
    for (const t of this.state.values()) if (t.location === 'gpu-buffer') t.dispose();
    this.state.clear();
    await this.session.release();
  }
}
