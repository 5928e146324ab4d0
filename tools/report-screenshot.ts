/**
 * The README's picture of a run report: report.html opened in headless Chromium (Debian's chromium)
 * and saved as a PNG of the whole page.
 *
 *   npm run bench:build && node dist-bench/tools/report-screenshot.js runs/cae-tiny-28 docs/report-default-run.png
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { REPORT_FILE } from '../src/runtime/report/report-html';

async function main(): Promise<void> {
  const [run, out] = process.argv.slice(2);
  if (!run || !out) throw new Error('usage: report-screenshot.js RUN_FOLDER OUT.png');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1000 } });
    await page.goto(pathToFileURL(path.resolve(run, REPORT_FILE)).href, { waitUntil: 'load' });
    await page.screenshot({ path: out, fullPage: true });
    process.stdout.write(`wrote ${out}\n`);
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
