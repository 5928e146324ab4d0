import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

/** The compiled CLI: `npm test` builds it first (pretest), as a user runs it. */
export const CLI = path.join(__dirname, '../../dist/cli/main.js');

const run = promisify(execFile);

/** Runs the CLI and returns its exit code and output. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWithEnv(process.env, ...args);
}

/** Runs the CLI in the given environment (e.g. one that points the Vulkan loader at a driver). */
export async function cliWithEnv(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
