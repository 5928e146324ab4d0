import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plugin } from 'esbuild';
import { CAE_ONNX_VERSION, PACKAGE_ROOT } from '../artifacts/version';

/**
 * Bundles the page and its training worker (src/web/browser) with esbuild into dist/web/static, next
 * to index.html and page.css: `npm run build` runs it after tsc. onnxruntime-web is not bundled: the
 * page imports it from /ort/, where `cae-onnx web` serves the package's own files (its WASM and
 * thread workers load from there). Node built-ins fail the bundle: browser code must not need them.
 */

const ORT_MODULE = '/ort/ort.webgpu.min.mjs';

const ortFromServer: Plugin = {
  name: 'onnxruntime-web-from-server',
  setup(build) {
    build.onResolve({ filter: /^onnxruntime-web(\/webgpu)?$/ }, () => ({ path: ORT_MODULE, external: true }));
  },
};

/** version.ts reads package.json from disk; the page gets the same version written in at bundle time. */
const versionAtBundleTime: Plugin = {
  name: 'cae-onnx-version',
  setup(build) {
    build.onLoad({ filter: /[\\/]artifacts[\\/]version\.ts$/ }, () => ({
      contents: `export const CAE_ONNX_VERSION = ${JSON.stringify(CAE_ONNX_VERSION)};\nexport const PACKAGE_ROOT = '';`,
      loader: 'ts',
    }));
  },
};

/** Where the bundled page is, whichever copy of this file runs (the server reads it from here). */
export const WEB_STATIC_DIR = path.join(PACKAGE_ROOT, 'dist', 'web', 'static');

export async function bundlePage(outDir = WEB_STATIC_DIR): Promise<void> {
  const esbuild = await import('esbuild');
  const source = path.join(PACKAGE_ROOT, 'src', 'web');
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: {
      page: path.join(source, 'browser', 'page', 'main.ts'),
      'train-worker': path.join(source, 'browser', 'worker', 'train-worker.ts'),
    },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome113',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
    plugins: [ortFromServer, versionAtBundleTime],
  });
  for (const file of ['index.html', 'page.css'])
    fs.copyFileSync(path.join(source, 'static', file), path.join(outDir, file));
}

if (require.main === module) {
  bundlePage().catch((e: unknown) => {
    process.stderr.write(`bundling the page failed: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
