/**
 * The processes training one model together: one (the default), or the ranks of an MPI job. The
 * training loop needs only this much of them: who is rank 0 (it alone writes logs, metrics and
 * checkpoints), a float32 sum over all ranks, a barrier, and a way to end the whole job.
 */
export interface ProcessGroup {
  readonly rank: number;
  readonly size: number;
  /** Sums `data` over all ranks, in place: every rank ends with the same values. */
  allreduceSum(data: Float32Array): void;
  barrier(): void;
  /** Ends every rank of the job with `code`, so none waits forever for one that failed. */
  abort(code: number): never;
  finalize(): void;
}

/** A run in one process. */
export const SINGLE_PROCESS: ProcessGroup = {
  rank: 0,
  size: 1,
  allreduceSum: () => undefined,
  barrier: () => undefined,
  abort: (code) => process.exit(code),
  finalize: () => undefined,
};

/** Whether any rank asks to stop (a signal reached some of them): all stop after the same update. */
export function anyRank(group: ProcessGroup, local: boolean): boolean {
  if (group.size === 1) return local;
  const flag = Float32Array.of(local ? 1 : 0);
  group.allreduceSum(flag);
  return flag[0] > 0;
}

/** Ranks sharing this machine (Open MPI's or MPICH's environment), to split its cores between them. */
export function localRanks(): number {
  const n = Number(process.env.OMPI_COMM_WORLD_LOCAL_SIZE ?? process.env.MPI_LOCALNRANKS ?? 1);
  return Number.isInteger(n) && n > 0 ? n : 1;
}
