import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  describeEp,
  ExecutionProviderError,
  resolveExecutionProvider,
} from '../../src/runtime/execution-providers';
import { findVulkanLoader, vulkanAdapterKind, vulkanDrivers } from '../../src/runtime/vulkan-drivers';
import { cliWithEnv } from '../helpers/cli';

test('cpu always starts', async () => {
  expect(await resolveExecutionProvider('cpu')).toEqual({ name: 'cpu', reason: 'asked for' });
});

test('auto says what it picked and why', async () => {
  const r = await resolveExecutionProvider('auto');
  expect(['cpu', 'cuda', 'webgpu']).toContain(r.name);
  expect(r.reason).toMatch(/^auto: /);
});

test('cuda either starts or is a clear error with the install steps, never a silent fallback', async () => {
  const r = await resolveExecutionProvider('cuda').catch((e: unknown) => e);
  if (r instanceof Error) {
    expect(r).toBeInstanceOf(ExecutionProviderError);
    expect(r.message).toMatch(/ONNXRUNTIME_NODE_INSTALL=1 node/);
  } else expect(r).toEqual({ name: 'cuda', reason: 'asked for' });
  if (process.platform !== 'win32')
    await expect(resolveExecutionProvider('dml')).rejects.toThrow(/Windows only/);
});

test('webgpu without a Vulkan loader or driver: a one-line error with the install steps', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-novk-'));
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: empty,
    VK_ICD_FILENAMES: path.join(empty, 'none.json'),
    VK_DRIVER_FILES: path.join(empty, 'none.json'),
  };
  const r = await cliWithEnv(
    env,
    'train',
    '--ep',
    'webgpu',
    '--steps',
    '1',
    '--out',
    path.join(empty, 'run'),
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^cae-onnx: --ep webgpu: (libvulkan\.so\.1 was not found|no Vulkan driver)/);
  expect(r.stderr).toMatch(/apt-get install/);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
});

describe('Vulkan drivers, read as the loader reads them', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-icd-'));
  const icd = (name: string, library: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: library } }));
    return file;
  };
  const swiftshader = icd('vk_swiftshader_icd.json', './libvk_swiftshader.so');
  const lavapipe = icd('lvp_icd.x86_64.json', '/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so');
  const nvidia = icd('nvidia_icd.json', 'libGLX_nvidia.so.0');

  test('software rasterizers are told from GPU drivers', () => {
    const soft = vulkanDrivers({ VK_ICD_FILENAMES: `${swiftshader}:${lavapipe}` });
    expect(soft.map((d) => [d.name, d.software])).toEqual([
      ['SwiftShader', true],
      ['lavapipe', true],
    ]);
    expect(soft[0].library).toBe(path.join(dir, 'libvk_swiftshader.so'));
    expect(vulkanAdapterKind(soft)).toBe('software');
    const mixed = vulkanDrivers({ VK_DRIVER_FILES: `${swiftshader}:${nvidia}` });
    expect(vulkanAdapterKind(mixed)).toBe('hardware');
    expect(vulkanAdapterKind([])).toBe('none');
  });

  test('a folder of manifests is read like the standard ICD folders', () => {
    expect(
      vulkanDrivers({ VK_ICD_FILENAMES: dir })
        .map((d) => d.name)
        .sort(),
    ).toEqual(['SwiftShader', 'lavapipe', 'libGLX_nvidia']);
  });

  test('the loader is looked for on LD_LIBRARY_PATH first', () => {
    fs.writeFileSync(path.join(dir, 'libvulkan.so.1'), '');
    expect(findVulkanLoader({ LD_LIBRARY_PATH: `/nonexistent:${dir}` })).toBe(dir);
  });

  test('a software driver is named in the provider line', () => {
    const [driver] = vulkanDrivers({ VK_ICD_FILENAMES: swiftshader });
    expect(describeEp({ name: 'webgpu', reason: 'asked for', softwareDriver: driver })).toMatch(
      /^execution provider: webgpu \(asked for\): WARNING, a software Vulkan driver \(SwiftShader, .*\) runs WebGPU on the CPU/,
    );
  });
});
