import { Command } from 'commander';
import { Mpi, MpiUnavailableError } from '../runtime/distributed/mpi';
import { ProcessGroup, SINGLE_PROCESS } from '../runtime/distributed/process-group';
import { oneOf } from './options';
import { UserError } from './run-command';

/** `--distributed mpi`, the same on every command that trains. */
export function addDistributedOption(command: Command): Command {
  return command.option(
    '--distributed <engine>',
    'data-parallel over the ranks of `mpirun -np N cae-onnx ...` (mpi); --batch and --accumulate are per rank',
    oneOf('mpi'),
  );
}

/** This process's group: MPI's ranks (started once per process), or this process alone. */
export function startGroup(distributed: 'mpi' | undefined): ProcessGroup {
  if (distributed !== 'mpi') return SINGLE_PROCESS;
  try {
    return Mpi.init();
  } catch (e) {
    if (e instanceof MpiUnavailableError) throw new UserError(`--distributed mpi: ${e.message}`);
    throw e;
  }
}

/**
 * Runs a command on every rank: a failure on one rank is printed with its rank and ends the whole
 * job (the others would otherwise wait in the next all-reduce); success finalizes MPI.
 */
export async function onEveryRank(group: ProcessGroup, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (group.size > 1) {
      process.stderr.write(`cae-onnx: rank ${group.rank}: ${(e as Error).message}\n`);
      group.abort(1);
    }
    throw e;
  }
  group.finalize();
}
