#!/usr/bin/env node
import { Command } from 'commander';
import { registerInspect } from './commands/inspect';
import { runCommand } from './run-command';

const program = new Command()
  .name('cae-onnx')
  .description('Context Autoencoder pretraining of vision encoders on ONNX Runtime')
  .version('0.1.0')
  .showHelpAfterError();

registerInspect(program);

runCommand(() => program.parseAsync(process.argv));
