import type * as ort from 'onnxruntime-node';
import type { DType } from '../graph-builder/core/dtype';
import { Graph } from '../graph-builder/core/graph';
import type { TensorData } from '../graph-builder/core/tensor-data';
import * as op from '../graph-builder/ops';
import { toModelProto } from '../graph-builder/onnx/to-model-proto';
import { ModelSession, SessionConfig } from './session';
import { fromOrt } from './tensor-convert';

const HOST = '.host';

/**
 * Copies device tensors ('gpu-buffer', WebGPU EP) to the host. onnxruntime-node 1.30 cannot download
 * a gpu-buffer output itself (its `download` is not implemented and aborts the process), so the
 * tensors go through a session of Identity nodes on the same provider whose outputs are host tensors.
 */
export class DeviceDownloader {
  private constructor(private readonly session: ModelSession) {}

  static async create(
    tensors: readonly { name: string; dtype: DType; shape: readonly number[] }[],
    config: SessionConfig,
  ): Promise<DeviceDownloader> {
    const g = new Graph('download');
    for (const t of tensors)
      g.output(`${t.name}${HOST}`, op.identity(g.input(t.name, t.dtype, [...t.shape])));
    return new DeviceDownloader(
      await ModelSession.create(toModelProto(g, { paramsAs: 'inputs' }), {
        ...config,
        outputsOnDevice: undefined,
      }),
    );
  }

  async download(tensors: ReadonlyMap<string, ort.Tensor>): Promise<Map<string, TensorData>> {
    const out = await this.session.runOrt(Object.fromEntries(tensors));
    return new Map([...tensors.keys()].map((name) => [name, fromOrt(out[`${name}${HOST}`])]));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
