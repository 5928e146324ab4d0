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
