import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Graph } from '../graph-builder/core/graph';
import * as op from '../graph-builder/ops';
import { toModelProto } from '../graph-builder/onnx/to-model-proto';
import { findVulkanLoader, vulkanAdapterKind, VulkanDriver, vulkanDrivers } from './vulkan-drivers';

export type EpName = 'cpu' | 'cuda' | 'dml' | 'webgpu';
export type EpChoice = EpName | 'auto';

/** An execution provider that cannot start, with what to do about it. */
export class ExecutionProviderError extends Error {
  override name = 'ExecutionProviderError';
}

/**
 * Fetches onnxruntime-node's CUDA 12 provider libraries. The package's install script is denied in
 * package.json's allowScripts (it would download them on every install, and fails offline), so it is
 * run by hand, which works the same with every npm.
 */
export const CUDA_INSTALL_COMMAND =
  'ONNXRUNTIME_NODE_INSTALL=1 node node_modules/onnxruntime-node/script/install';

const HOW_TO: Record<Exclude<EpName, 'cpu'>, string> = {
  cuda:
    "The CUDA EP needs onnxruntime-node's CUDA 12 provider libraries and an NVIDIA driver: " +
    `\`${CUDA_INSTALL_COMMAND}\` ` +
    '(needs the internet), with CUDA 12 and cuDNN 9 runtime libraries on LD_LIBRARY_PATH.',
  dml: 'DirectML is available on Windows only.',
  webgpu:
    'The WebGPU EP (Dawn over Vulkan on Linux) needs libvulkan.so.1 (Debian: apt-get install libvulkan1) and a ' +
    "GPU's Vulkan driver (NVIDIA: the driver's nvidia_icd.json; AMD/Intel: apt-get install mesa-vulkan-drivers). " +
    'Without a GPU, the SwiftShader driver in Debian\'s chromium package works for testing (README: "GPU without a GPU").',
};

/** A one-node model to prove that a provider really starts. */
function probeModel(): Uint8Array {
  const g = new Graph('probe');
  g.output('y', op.add(g.input('x', 'float32', [1]), 1));
  return onnx.ModelProto.encode(toModelProto(g, { paramsAs: 'inputs' })).finish();
}

/** Runs `fn` with ORT's own logging silenced: a failed provider is reported once, by the caller. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const level = ort.env.logLevel;
  ort.env.logLevel = 'fatal';
  try {
    return await fn();
  } finally {
    ort.env.logLevel = level;
  }
}

async function starts(ep: EpName): Promise<string | undefined> {
  return quietly(async () => {
    try {
      const s = await ort.InferenceSession.create(probeModel(), {
        executionProviders: [ep],
        logSeverityLevel: 4,
      });
      await s.release();
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  });
}

export interface ResolvedEp {
  readonly name: EpName;
  /** Why `auto` chose it. */
  readonly reason: string;
  /** WebGPU on a CPU rasterizer (SwiftShader, lavapipe): works, far slower than --ep cpu. */
  readonly softwareDriver?: VulkanDriver;
}

/** The one line a command prints about its provider; a software GPU is named as such. */
export function describeEp(ep: ResolvedEp): string {
  const line = `execution provider: ${ep.name} (${ep.reason})`;
  if (!ep.softwareDriver) return line;
  return (
    `${line}: WARNING, a software Vulkan driver (${ep.softwareDriver.name}, ${ep.softwareDriver.library}) ` +
    'runs WebGPU on the CPU; correct, but far slower than --ep cpu'
  );
}

/** Why WebGPU cannot start here (no Vulkan loader or driver), with the install steps; undefined when it may. */
export function webgpuDriverProblem(): string | undefined {
  const { missing } = webgpuPrecheck();
  return missing && `--ep webgpu: ${missing}. ${HOW_TO.webgpu}`;
}

function webgpuPrecheck(): { drivers: VulkanDriver[]; missing?: string } {
  if (process.platform !== 'linux') return { drivers: [] };
  if (!findVulkanLoader()) return { drivers: [], missing: 'libvulkan.so.1 was not found' };
  const drivers = vulkanDrivers();
  if (drivers.length === 0) return { drivers, missing: 'no Vulkan driver (ICD manifest) was found' };
  return { drivers };
}

/**
 * Checks that the asked-for provider starts here, with no silent fallback: a provider that cannot
 * start is an ExecutionProviderError naming what is missing. `auto` tries CUDA, then WebGPU on a
 * hardware Vulkan driver (never a software one), then CPU, and says what it picked.
 */
export async function resolveExecutionProvider(choice: EpChoice): Promise<ResolvedEp> {
  if (choice === 'cpu') return { name: 'cpu', reason: 'asked for' };
  if (choice === 'dml' && process.platform !== 'win32')
    throw new ExecutionProviderError(`--ep dml: ${HOW_TO.dml}`);
  if (choice === 'webgpu') {
    const { drivers, missing } = webgpuPrecheck();
    if (missing) throw new ExecutionProviderError(`--ep webgpu: ${missing}. ${HOW_TO.webgpu}`);
    const failure = await starts('webgpu');
    if (failure)
      throw new ExecutionProviderError(
        `--ep webgpu could not start: ${failure.split('\n')[0]}\n${HOW_TO.webgpu}`,
      );
    const software = vulkanAdapterKind(drivers) === 'software' ? drivers[0] : undefined;
    return { name: 'webgpu', reason: 'asked for', ...(software ? { softwareDriver: software } : {}) };
  }
  if (choice !== 'auto') {
    const failure = await starts(choice);
    if (failure)
      throw new ExecutionProviderError(
        `--ep ${choice} could not start: ${failure.split('\n')[0]}\n${HOW_TO[choice]}`,
      );
    return { name: choice, reason: 'asked for' };
  }
  const tried: string[] = [];
  const cuda = await starts('cuda');
  if (!cuda) return { name: 'cuda', reason: 'auto: cuda started' };
  tried.push(`cuda: ${cuda.split('\n')[0].slice(0, 120)}`);
  const { drivers, missing } = webgpuPrecheck();
  if (missing) tried.push(`webgpu: ${missing}`);
  else if (vulkanAdapterKind(drivers) === 'software')
    tried.push(`webgpu: only a software Vulkan driver (${drivers[0].name}), slower than the CPU`);
  else {
    const failure = await starts('webgpu');
    if (!failure) return { name: 'webgpu', reason: `auto: webgpu started (${tried.join('; ')})` };
    tried.push(`webgpu: ${failure.split('\n')[0].slice(0, 120)}`);
  }
  return { name: 'cpu', reason: `auto: no GPU provider started (${tried.join('; ')})` };
}

/** A one-node float16 model: a provider that lacks f16 shaders fails to run it. */
function float16ProbeModel(): Uint8Array {
  const g = new Graph('f16_probe');
  const half = op.cast(g.input('x', 'float32', [4]), 'float16');
  g.output('y', op.cast(op.mul(half, half), 'float32'));
  return onnx.ModelProto.encode(toModelProto(g, { paramsAs: 'inputs' })).finish();
}

/**
 * Whether a provider can train a float16 (--precision fp16) build: on WebGPU that needs the
 * adapter's shader-f16 feature, which software adapters (SwiftShader) and some GPUs lack.
 * Returns why not, or undefined when it can.
 */
export async function float16Problem(ep: EpName): Promise<string | undefined> {
  if (ep !== 'webgpu') return undefined;
  return quietly(async () => {
    try {
      const s = await ort.InferenceSession.create(float16ProbeModel(), {
        executionProviders: ['webgpu'],
        logSeverityLevel: 4,
      });
      try {
        await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4), [4]) });
      } finally {
        await s.release();
      }
      return undefined;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (!/requires f16|shader-f16|does not support/i.test(message)) throw e;
      return (
        "--precision fp16 on --ep webgpu needs the GPU adapter's shader-f16 feature, and this adapter lacks it " +
        `(${message.split('\n')[0].replace(/^.*Status Message: /, '')}). Train in fp32 (a build without --precision fp16) or on --ep cuda.`
      );
    }
  });
}

/** ORT session options for a provider. */
export function providerConfig(ep: EpName): ort.InferenceSession.ExecutionProviderConfig[] {
  return [ep];
}
