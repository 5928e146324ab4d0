import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * What the Vulkan loader will find on this machine, read the way the loader reads it (Linux): the
 * loader library on the library path, and the installable client drivers (ICDs) from
 * VK_DRIVER_FILES / VK_ICD_FILENAMES or the standard manifest folders. Lets `--ep auto` tell a real
 * GPU from a software rasterizer (SwiftShader, lavapipe) before it picks WebGPU.
 */
export interface VulkanDriver {
  /** The ICD manifest (JSON) that names it. */
  readonly manifest: string;
  /** The driver library the manifest points to. */
  readonly library: string;
  /** A CPU implementation of Vulkan: correct, and far slower than onnxruntime's CPU kernels. */
  readonly software: boolean;
  /** A short name for messages. */
  readonly name: string;
}

const SOFTWARE_DRIVERS: readonly [RegExp, string][] = [
  [/swiftshader/i, 'SwiftShader'],
  [/lvp|lavapipe/i, 'lavapipe'],
  [/llvmpipe/i, 'llvmpipe'],
];

const STANDARD_LIBRARY_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/local/lib',
];

const pathList = (v: string | undefined) => (v ?? '').split(':').filter((p) => p.length > 0);

/** The folder holding libvulkan.so.1 that the dynamic loader would use, or undefined. */
export function findVulkanLoader(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...pathList(env.LD_LIBRARY_PATH), ...STANDARD_LIBRARY_DIRS];
  return dirs.find((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

function manifestFolders(env: NodeJS.ProcessEnv): string[] {
  const home = os.homedir();
  const config = pathList(env.XDG_CONFIG_DIRS ?? '/etc/xdg');
  const data = pathList(env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share');
  return [
    ...config.map((d) => path.join(d, 'vulkan/icd.d')),
    '/etc/vulkan/icd.d',
    path.join(env.XDG_DATA_HOME ?? path.join(home, '.local/share'), 'vulkan/icd.d'),
    ...data.map((d) => path.join(d, 'vulkan/icd.d')),
  ];
}

function manifestsIn(entry: string): string[] {
  if (!fs.existsSync(entry)) return [];
  if (!fs.statSync(entry).isDirectory()) return [entry];
  return fs
    .readdirSync(entry)
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(entry, f));
}

function readDriver(manifest: string): VulkanDriver | undefined {
  let library: unknown;
  try {
    library = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: unknown } }).ICD
      ?.library_path;
  } catch {
    return undefined;
  }
  if (typeof library !== 'string') return undefined;
  const resolved = library.includes('/') ? path.resolve(path.dirname(manifest), library) : library;
  const probe = `${path.basename(manifest)} ${library}`;
  const soft = SOFTWARE_DRIVERS.find(([re]) => re.test(probe));
  return {
    manifest,
    library: resolved,
    software: soft !== undefined,
    name: soft ? soft[1] : path.basename(library).replace(/\.so.*$/, ''),
  };
}

/** The Vulkan drivers the loader would enumerate, in its order. */
export function vulkanDrivers(env: NodeJS.ProcessEnv = process.env): VulkanDriver[] {
  const explicit = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  const entries = explicit
    ? pathList(explicit)
    : [...manifestFolders(env), ...pathList(env.VK_ADD_DRIVER_FILES)];
  const seen = new Set<string>();
  const drivers: VulkanDriver[] = [];
  for (const file of entries.flatMap(manifestsIn)) {
    const d = readDriver(file);
    if (d && !seen.has(d.library)) {
      seen.add(d.library);
      drivers.push(d);
    }
  }
  return drivers;
}

/** 'hardware' when any driver is a GPU's, 'software' when all are CPU rasterizers, 'none' when none. */
export function vulkanAdapterKind(drivers: readonly VulkanDriver[]): 'hardware' | 'software' | 'none' {
  if (drivers.length === 0) return 'none';
  return drivers.some((d) => !d.software) ? 'hardware' : 'software';
}
