import { CommanderError } from 'commander';
import { FileFormatError } from '../artifacts/file-format-error';
import { ExecutionProviderError } from '../runtime/execution-providers';
import { PlacementError } from '../runtime/placement/ort-placement';

/** A failure the user can act on: printed as one line, no stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

/**
 * Runs the CLI: expected failures (bad input: missing or damaged files, an unusable dataset, a
 * provider that cannot start, ORT refusing a model) print one clear line and exit 1; anything else
 * is a bug and keeps its stack trace.
 */
export function runCommand(main: () => Promise<unknown>): void {
  main().catch((e: unknown) => {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    const theUsers =
      e instanceof UserError ||
      e instanceof FileFormatError ||
      e instanceof ExecutionProviderError ||
      e instanceof PlacementError ||
      isNodeFsError(e);
    if (theUsers) {
      process.stderr.write(`cae-onnx: ${(e as Error).message}\n`);
      process.exit(1);
    }
    process.stderr.write(
      `cae-onnx: internal error, please report it:\n${e instanceof Error ? e.stack : String(e)}\n`,
    );
    process.exit(2);
  });
}

function isNodeFsError(e: unknown): boolean {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && 'syscall' in e;
}
