import * as fs from 'node:fs';

import { metricsLines, parseMetricsLines, StepMetrics } from './step-metrics';

export { METRICS_FILE } from './step-metrics';
export type { StepMetrics } from './step-metrics';

/**
 * metrics.jsonl: one JSON object per step, appended in intervals. On resume, lines after the resumed
 * step are dropped first, so the file always describes one consistent trajectory.
 */
export class MetricsLog {
  private pending: string[] = [];

  constructor(
    readonly file: string,
    resumeAfterStep?: number,
  ) {
    if (resumeAfterStep !== undefined && fs.existsSync(file)) {
      const kept = readMetrics(file).filter((m) => m.step <= resumeAfterStep);
      fs.writeFileSync(file, metricsLines(kept));
    } else if (resumeAfterStep === undefined) {
      fs.writeFileSync(file, '');
    }
  }

  add(m: StepMetrics): void {
    this.pending.push(metricsLines([m]));
  }

  flush(): void {
    if (this.pending.length === 0) return;
    fs.appendFileSync(this.file, this.pending.join(''));
    this.pending = [];
  }
}

export function readMetrics(file: string): StepMetrics[] {
  return fs.existsSync(file) ? parseMetricsLines(fs.readFileSync(file, 'utf8')) : [];
}
