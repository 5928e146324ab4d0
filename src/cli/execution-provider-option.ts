import { Command } from 'commander';
import {
  describeEp,
  EpChoice,
  ExecutionProviderError,
  providerConfig,
  ResolvedEp,
  resolveExecutionProvider,
} from '../runtime/execution-providers';
import type { SessionConfig } from '../runtime/session';
import { oneOf } from './options';
import { UserError } from './run-command';

/** `--ep`, the same on every command that runs models. */
export function addEpOption(command: Command, defaultEp: EpChoice = 'cpu'): Command {
  return command.option(
    '--ep <name>',
    'execution provider: cpu, cuda, dml, webgpu, auto (auto never picks a software GPU)',
    oneOf('cpu', 'cuda', 'dml', 'webgpu', 'auto'),
    defaultEp,
  );
}

/**
 * Starts the provider or fails with its install steps (a user error, not a stack trace), and says
 * which one runs, naming a software GPU as such; the line is the command's first.
 */
export async function startEp(choice: EpChoice, say: (line: string) => void): Promise<ResolvedEp> {
  let ep: ResolvedEp;
  try {
    ep = await resolveExecutionProvider(choice);
  } catch (e) {
    if (e instanceof ExecutionProviderError) throw new UserError(e.message);
    throw e;
  }
  say(describeEp(ep));
  return ep;
}

/** Session options for a started provider. */
export const sessionFor = (ep: ResolvedEp, threads?: number): SessionConfig => ({
  executionProviders: providerConfig(ep.name),
  threads,
});
