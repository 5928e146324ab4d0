/**
 * The MPI binding (koffi over the system's Open MPI) under a real `mpirun -np 2`: ranks, sizes and a
 * float32 sum all-reduce that leaves every rank with the same sums.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as os from 'node:os';
import { cliWithEnv } from '../helpers/cli';

const run = promisify(execFile);
const MPI_MODULE = path.join(__dirname, '../../dist/runtime/distributed/mpi.js');

/** mpirun as CI runs it: as root, more ranks than cores allowed. */
const MPIRUN_ENV = {
  ...process.env,
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
};

test('mpirun -np 2: each rank knows its rank; allreduceSum gives both ranks the sum', async () => {
  const script = `
    const { Mpi } = require(${JSON.stringify(MPI_MODULE)});
    const mpi = Mpi.init();
    const data = Float32Array.from({ length: 1000 }, (_, i) => (mpi.rank + 1) * i + 0.25);
    mpi.allreduceSum(data);
    mpi.barrier();
    console.log(JSON.stringify({ rank: mpi.rank, size: mpi.size, first: data[1], last: data[999], library: mpi.library }));
    mpi.finalize();
  `;
  const { stdout } = await run('mpirun', ['--oversubscribe', '-np', '2', process.execPath, '-e', script], {
    env: MPIRUN_ENV,
    timeout: 60_000,
  });
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { rank: number; size: number; first: number; last: number; library: string })
    .sort((a, b) => a.rank - b.rank);
  expect(lines.map((l) => [l.rank, l.size])).toEqual([
    [0, 2],
    [1, 2],
  ]);
  for (const l of lines) {
    // (1 + 2) * i + 2 * 0.25
    expect(l.first).toBe(3 * 1 + 0.5);
    expect(l.last).toBe(3 * 999 + 0.5);
    expect(l.library).toBe('libmpi.so.40');
  }
}, 60_000);

test('without an MPI library, --distributed mpi says what to install, in one line', async () => {
  const { code, stderr } = await cliWithEnv(
    { ...MPIRUN_ENV, CAE_ONNX_MPI_LIBRARY: '/nonexistent/libmpi.so.40' },
    'train',
    '--distributed',
    'mpi',
    '--steps',
    '1',
    '--out',
    path.join(os.tmpdir(), 'cae-no-mpi'),
  );
  expect(code).toBe(1);
  expect(stderr).toMatch(
    /--distributed mpi: no MPI library could be loaded \(\/nonexistent\/libmpi\.so\.40\): install Open MPI \(Debian\/Ubuntu: apt-get install openmpi-bin\)/,
  );
  expect(stderr).not.toMatch(/\n\s+at /);
});
