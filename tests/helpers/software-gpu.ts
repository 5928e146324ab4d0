import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where Debian's chromium package puts SwiftShader's Vulkan driver and its Vulkan loader. */
const SWIFTSHADER_DIRS = ['/usr/lib/chromium', '/usr/lib64/chromium', '/usr/lib/chromium-browser'];

/**
 * The environment that runs onnxruntime's WebGPU provider on SwiftShader (a CPU implementation of
 * Vulkan): the loader on LD_LIBRARY_PATH, the driver as the only ICD. WebGPU tests run their
 * providers in child processes with it. A machine without it fails the test with the install step
 * (.ci/run installs chromium); the tests are never skipped.
 */
export function softwareGpuEnv(): NodeJS.ProcessEnv {
  const dir = SWIFTSHADER_DIRS.find(
    (d) =>
      fs.existsSync(path.join(d, 'vk_swiftshader_icd.json')) && fs.existsSync(path.join(d, 'libvulkan.so.1')),
  );
  if (!dir) {
    throw new Error(
      "the WebGPU tests need the SwiftShader Vulkan driver from Debian's chromium package: apt-get install chromium",
    );
  }
  return {
    ...process.env,
    LD_LIBRARY_PATH: [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    VK_ICD_FILENAMES: path.join(dir, 'vk_swiftshader_icd.json'),
    VK_DRIVER_FILES: path.join(dir, 'vk_swiftshader_icd.json'),
  };
}
