import * as fs from 'node:fs';
import { ExecutionProviderError, resolveExecutionProvider } from '../../src/runtime/execution-providers';

test('cpu always starts', async () => {
  expect(await resolveExecutionProvider('cpu')).toEqual({ name: 'cpu', reason: 'asked for' });
});

test('auto says what it picked and why', async () => {
  const r = await resolveExecutionProvider('auto');
  expect(['cpu', 'cuda', 'webgpu']).toContain(r.name);
  expect(r.reason).toMatch(/^auto: /);
});

const noGpu = !fs.existsSync('/dev/nvidia0') && !fs.existsSync('/dev/dri');

(noGpu ? test : test.skip)(
  'a provider that cannot start is a clear error, never a silent fallback',
  async () => {
    await expect(resolveExecutionProvider('cuda')).rejects.toThrow(ExecutionProviderError);
    await expect(resolveExecutionProvider('cuda')).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    await expect(resolveExecutionProvider('webgpu')).rejects.toThrow(/libvulkan|Vulkan|webgpu/i);
    if (process.platform !== 'win32')
      await expect(resolveExecutionProvider('dml')).rejects.toThrow(/Windows only/);
  },
);
