import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Graph } from '../graph-builder/core/graph';
import * as op from '../graph-builder/ops';
import { toModelProto } from '../graph-builder/onnx/to-model-proto';

export type EpName = 'cpu' | 'cuda' | 'dml' | 'webgpu';
export type EpChoice = EpName | 'auto';

/** An execution provider that cannot start, with what to do about it. */
export class ExecutionProviderError extends Error {
  override name = 'ExecutionProviderError';
}

const HOW_TO: Record<Exclude<EpName, 'cpu'>, string> = {
  cuda:
    "The CUDA EP needs onnxruntime-node's CUDA 12 provider libraries and an NVIDIA driver: " +
    '`npm install-scripts approve onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --foreground-scripts` ' +
    '(needs the internet), with CUDA 12 and cuDNN 9 runtime libraries on LD_LIBRARY_PATH.',
  dml: 'DirectML is available on Windows only.',
  webgpu:
    'The WebGPU EP (Dawn over Vulkan on Linux) needs libvulkan.so.1 (Debian: apt-get install libvulkan1) and a GPU with a ' +
    'Vulkan driver; software Vulkan (llvmpipe) is refused by Dawn.',
};

function hasVulkanLoader(): boolean {
  const dirs = [
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
  ];
  return dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
}

/** A one-node model to prove that a provider really starts. */
function probeModel(): Uint8Array {
  const g = new Graph('probe');
  g.output('y', op.add(g.input('x', 'float32', [1]), 1));
  return onnx.ModelProto.encode(toModelProto(g, { paramsAs: 'inputs' })).finish();
}

async function starts(ep: EpName): Promise<string | undefined> {
  // ORT logs a failed provider load itself; the caller reports it once, with what to do.
  const level = ort.env.logLevel;
  ort.env.logLevel = 'fatal';
  try {
    const s = await ort.InferenceSession.create(probeModel(), {
      executionProviders: [ep],
      logSeverityLevel: 4,
    });
    await s.release();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    ort.env.logLevel = level;
  }
}

export interface ResolvedEp {
  readonly name: EpName;
  /** Why `auto` chose it. */
  readonly reason: string;
}

/**
 * Checks that the asked-for provider starts here, with no silent fallback: a provider that cannot
 * start is an ExecutionProviderError naming what is missing. `auto` tries CUDA, then WebGPU, then CPU
 * and says what it picked.
 */
export async function resolveExecutionProvider(choice: EpChoice): Promise<ResolvedEp> {
  if (choice === 'cpu') return { name: 'cpu', reason: 'asked for' };
  if (choice === 'dml' && process.platform !== 'win32')
    throw new ExecutionProviderError(`--ep dml: ${HOW_TO.dml}`);
  if (choice === 'webgpu' && process.platform === 'linux' && !hasVulkanLoader()) {
    throw new ExecutionProviderError(`--ep webgpu: libvulkan.so.1 was not found. ${HOW_TO.webgpu}`);
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
  for (const ep of ['cuda', 'webgpu'] as const) {
    if (ep === 'webgpu' && process.platform === 'linux' && !hasVulkanLoader()) {
      tried.push('webgpu: no libvulkan.so.1');
      continue;
    }
    const failure = await starts(ep);
    if (!failure)
      return { name: ep, reason: `auto: ${ep} started${tried.length ? ` (${tried.join('; ')})` : ''}` };
    tried.push(`${ep}: ${failure.split('\n')[0].slice(0, 120)}`);
  }
  return { name: 'cpu', reason: `auto: no GPU provider started (${tried.join('; ')})` };
}

/** ORT session options for a provider. */
export function providerConfig(ep: EpName): ort.InferenceSession.ExecutionProviderConfig[] {
  return [ep];
}
