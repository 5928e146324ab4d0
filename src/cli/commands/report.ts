import * as fs from 'node:fs';
import { Command } from 'commander';
import { writeRunReport } from '../../runtime/report/write-run-report';
import { UserError } from '../run-command';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      "rewrite a run folder's report.html and loss.png from its files (train and finetune write them at the end)",
    )
    .argument('<run>', 'run folder of cae-onnx train or finetune')
    .action(async (run: string) => {
      if (!fs.existsSync(run) || !fs.statSync(run).isDirectory())
        throw new UserError(`no such run folder: ${run}`);
      const page = await writeRunReport(run);
      if (!page) throw new UserError(`${run} holds no checkpoint of a training run yet: nothing to report`);
      process.stdout.write(`wrote ${page}\n`);
    });
}
