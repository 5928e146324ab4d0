import { Command } from 'commander';
import {
  describeEp,
  EpChoice,
  providerConfig,
  ResolvedEp,
  resolveExecutionProvider,
} from '../runtime/execution-providers';
import type { SessionConfig } from '../runtime/session';
import { oneOf } from './options';

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
 * Starts the provider (one that cannot start is an ExecutionProviderError with its install steps,
 * which the CLI prints as one line) and says which one runs, naming a software GPU as such; the line
 * is the command's first.
 */
export async function startEp(choice: EpChoice, say: (line: string) => void): Promise<ResolvedEp> {
  const ep = await resolveExecutionProvider(choice);
  say(describeEp(ep));
  return ep;
}

/** Session options for a started provider. */
export const sessionFor = (ep: ResolvedEp, threads?: number): SessionConfig => ({
  executionProviders: providerConfig(ep.name),
  threads,
});
