import * as ort from 'onnxruntime-web/webgpu';
import type { DType } from '../../../graph-builder/core/dtype';
import { tensorData, TensorData } from '../../../graph-builder/core/tensor-data';
import type { Backend } from '../protocol';

/** onnxruntime-web, set up once: its WASM files are served under /ort/ by `cae-onnx web`. */

export { ort };

export interface ChosenBackend {
  readonly name: 'webgpu' | 'wasm';
  /** For the page, e.g. "WebGPU on nvidia ampere" or "WASM, 8 threads". */
  readonly description: string;
}

interface AdapterInfo {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

/** A software adapter (SwiftShader, a fallback adapter): correct but far slower than WASM. */
export function isSoftwareAdapter(info: AdapterInfo): boolean {
  const words = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`;
  return info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|software/i.test(words);
}

async function adapterInfo(): Promise<AdapterInfo | undefined> {
  const gpu = (navigator as WorkerNavigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return undefined;
  const adapter = (await gpu.requestAdapter().catch(() => null)) as { info?: AdapterInfo } | null;
  return adapter ? (adapter.info ?? {}) : undefined;
}

/**
 * WebGPU when asked for, or for 'auto' when the adapter is real hardware; threaded WASM otherwise
 * (threads need a cross-origin isolated page, which `cae-onnx web` serves).
 */
export async function chooseBackend(asked: Backend): Promise<ChosenBackend> {
  ort.env.wasm.wasmPaths = '/ort/';
  // ORT's warnings (e.g. shape ops placed on the CPU) would land in the console as errors: none of them are.
  ort.env.logLevel = 'error';
  const threads = self.crossOriginIsolated ? Math.min(8, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  const wasm: ChosenBackend = {
    name: 'wasm',
    description:
      `WASM, ${threads} thread${threads === 1 ? '' : 's'}` +
      (self.crossOriginIsolated ? '' : ' (page not cross-origin isolated)'),
  };
  if (asked === 'wasm') return wasm;
  const info = await adapterInfo();
  if (!info) {
    if (asked === 'webgpu') throw new Error('this browser offers no WebGPU adapter; choose WASM');
    return { ...wasm, description: `${wasm.description}; no WebGPU adapter` };
  }
  const software = isSoftwareAdapter(info);
  const named = [info.vendor, info.architecture].filter((s) => s).join(' ') || 'unnamed adapter';
  if (asked === 'auto' && software)
    return { ...wasm, description: `${wasm.description}; WebGPU adapter ${named} is software` };
  return { name: 'webgpu', description: `WebGPU on ${named}${software ? ' (software)' : ''}` };
}

export function toOrt(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data, [...t.shape]);
}

/** A CPU tensor's data (downloaded first when it lives on the GPU). */
export async function fromOrt(t: ort.Tensor): Promise<TensorData> {
  const data = t.location === 'cpu' ? t.data : await t.getData();
  return tensorData(t.type as DType, t.dims, data as TensorData['data']);
}
