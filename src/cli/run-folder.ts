import * as fs from 'node:fs';
import { listCheckpoints } from '../runtime/train/checkpoint';
import { UserError } from './run-command';

/**
 * The folder of a new run: one that already holds a run is refused (naming --resume) unless `force`,
 * which empties it. Returns whether this run creates the folder, so a run that fails before its first
 * checkpoint can remove it again (a folder that held anything before is left alone).
 */
export function claimRunFolder(runDir: string, force: boolean | undefined): boolean {
  if (listCheckpoints(runDir).length > 0 && !force) {
    throw new UserError(
      `${runDir} already holds a run: continue it with --resume ${runDir}, or pass --force to start over`,
    );
  }
  if (force) fs.rmSync(runDir, { recursive: true, force: true });
  return !fs.existsSync(runDir) || fs.readdirSync(runDir).length === 0;
}

/** Where a command notes the run folder it created (see claimRunFolder). */
export interface CreatedFolder {
  dir?: string;
}

/**
 * Runs a command that may create a run folder: if it fails before the run's first checkpoint (a
 * damaged build, an unusable dataset), the folder it created is removed, so no half-made run stays.
 */
export async function removingUnfinishedRun(main: (created: CreatedFolder) => Promise<void>): Promise<void> {
  const created: CreatedFolder = {};
  try {
    await main(created);
  } catch (e) {
    if (created.dir && listCheckpoints(created.dir).length === 0)
      fs.rmSync(created.dir, { recursive: true, force: true });
    throw e;
  }
}
