/**
 * The README's picture of the browser page: `cae-onnx web`'s page in headless Chromium (Debian's
 * chromium) after a real run in the tab, saved as a PNG of the whole page.
 *
 *   npm run build && npm run bench:build && \
 *     node dist-bench/tools/web-screenshot.js docs/web-page.png "batch=32&steps=300&backend=wasm&reconstructEvery=100"
 */
import { chromium } from 'playwright-core';
import { startWebServer } from '../src/web/server';

async function main(): Promise<void> {
  const [out, query] = process.argv.slice(2);
  if (!out || !query)
    throw new Error('usage: web-screenshot.js OUT.png "FORM QUERY (e.g. steps=300&backend=wasm)"');
  const server = await startWebServer({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--enable-unsafe-swiftshader',
      '--use-webgpu-adapter=swiftshader',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    await page.goto(`${server.url}?${query}`);
    await page.click('#start');
    await page.waitForFunction(
      () =>
        ['finished', 'stopped', 'error'].includes(
          (Reflect.get(globalThis, 'caeOnnx') as { status: string }).status,
        ),
      null,
      { timeout: 0, polling: 1000 },
    );
    await page.screenshot({ path: out, fullPage: true });
    process.stdout.write(`${await page.textContent('#status')}\nwrote ${out}\n`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
