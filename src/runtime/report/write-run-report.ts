import * as path from 'node:path';
import { writeAll, writeFileAtomic } from '../../artifacts/atomic-write';
import { writeChartsPng } from './chart-png';
import { lineChartSvg } from './line-chart';
import { curveCharts, REPORT_FILE, renderReportHtml } from './report-html';
import { readRunSummary } from './run-summary';

/** The curve image every run leaves in its folder. */
export const CURVE_FILE = 'loss.png';

/**
 * Writes loss.png (training loss; for fine-tuning, validation below it) and report.html from what
 * the run folder holds. Returns the report's path, or undefined for a folder with no checkpoint.
 */
export async function writeRunReport(runDir: string): Promise<string | undefined> {
  const s = readRunSummary(runDir);
  if (!s) return undefined;
  await writeChartsPng(curveCharts(s).map(lineChartSvg), path.join(runDir, CURVE_FILE));
  const file = path.join(runDir, REPORT_FILE);
  writeFileAtomic(file, (fd) => writeAll(fd, Buffer.from(renderReportHtml(s))));
  return file;
}
