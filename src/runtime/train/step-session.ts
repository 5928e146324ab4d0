import * as fs from 'node:fs';
import { onnx } from 'onnx-proto';
import { dtypeFromOnnxCode } from '../../graph-builder/core/dtype';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { NEXT } from '../../graph-builder/training/step-graphs';
import { ModelSession, SessionConfig } from '../session';

/**
 * Runs a `train_step` graph repeatedly, carrying parameters and optimizer state from each step's
 * `X.next` outputs to the next step's `X` inputs (see step-graphs.ts for the naming convention).
 * State inputs without an initial value (optimizer moments) start at zero.
 */
export class StepSession {
  private constructor(
    private readonly session: ModelSession,
    readonly state: Map<string, TensorData>,
    private readonly stateNames: readonly string[],
  ) {}

  static async create(
    model: string | onnx.ModelProto,
    initial: ReadonlyMap<string, TensorData>,
    config: SessionConfig = {},
  ): Promise<StepSession> {
    const proto = typeof model === 'string' ? onnx.ModelProto.decode(fs.readFileSync(model)) : model;
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
    return new StepSession(await ModelSession.create(model, config), state, stateNames);
  }

  /** One step: data feeds and scalars in, non-state outputs back; state advances in place. */
  async run(feeds: Readonly<Record<string, TensorData>>): Promise<Record<string, TensorData>> {
    const out = await this.session.run({ ...Object.fromEntries(this.state), ...feeds });
    const results: Record<string, TensorData> = {};
    for (const [name, t] of Object.entries(out)) {
      if (name.endsWith(NEXT)) this.state.set(name.slice(0, -NEXT.length), t);
      else results[name] = t;
    }
    return results;
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
    await this.session.release();
  }
}

/** Scalar feeds of a train step. */
export function stepScalars(lr: number, step: number): Record<string, TensorData> {
  return {
    lr: tensorData('float32', [], Float32Array.of(lr)),
    step: tensorData('int64', [], BigInt64Array.of(BigInt(step))),
  };
}
