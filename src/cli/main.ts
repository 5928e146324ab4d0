#!/usr/bin/env node
import { CAE_ONNX_VERSION } from '../artifacts/version';
import { Command } from 'commander';
import { registerBuild } from './commands/build';
import { registerExport } from './commands/export';
import { registerProbe } from './commands/probe';
import { registerReconstruct } from './commands/reconstruct';
import { registerTrain } from './commands/train';
import { registerInfo } from './commands/info';
import { registerImport, registerImportTokenizer } from './commands/import';
import { registerInspect } from './commands/inspect';
import { registerFinetune } from './commands/finetune';
import { registerPredict } from './commands/predict';
import { registerReport } from './commands/report';
import { registerWeb } from './commands/web';
import { runCommand } from './run-command';

const program = new Command()
  .name('cae-onnx')
  .description('Context Autoencoder pretraining of vision encoders on ONNX Runtime')
  .version(CAE_ONNX_VERSION)
  .showHelpAfterError();

registerTrain(program);
registerBuild(program);
registerExport(program);
registerReconstruct(program);
registerProbe(program);
registerInfo(program);
registerInspect(program);
registerImport(program);
registerImportTokenizer(program);
registerFinetune(program);
registerReport(program);
registerPredict(program);
registerWeb(program);

// Output piped into a reader that stops early (`| head`) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

runCommand(() => program.parseAsync(process.argv));
