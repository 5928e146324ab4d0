/**
 * MPI (Open MPI or MPICH from the system's packages) through koffi, a prebuilt FFI: no compiler at
 * install, no binding of our own to maintain. Only what data-parallel training needs: rank, size,
 * an in-place float32 sum all-reduce, a barrier, abort and finalize.
 *
 * The two implementations differ in how handles are passed: Open MPI's MPI_COMM_WORLD, MPI_FLOAT and
 * MPI_SUM are the addresses of exported structs (found with dlsym), MPICH's are integer constants
 * from its mpi.h.
 */
import koffi from 'koffi';
import type { ProcessGroup } from './process-group';

/** No MPI library could be loaded: the message says what to install. */
export class MpiUnavailableError extends Error {
  override name = 'MpiUnavailableError';
}

/** Library files tried in order, with how their handles are passed. */
const LIBRARIES: readonly { readonly file: string; readonly kind: 'openmpi' | 'mpich' }[] = [
  { file: 'libmpi.so.40', kind: 'openmpi' },
  { file: 'libmpi.so.12', kind: 'mpich' },
  { file: 'libmpich.so.12', kind: 'mpich' },
];

/** CAE_ONNX_MPI_LIBRARY=/path/libmpi.so[:openmpi|:mpich] picks the library (default openmpi). */
export const MPI_LIBRARY_ENV = 'CAE_ONNX_MPI_LIBRARY';

function candidates(): readonly { readonly file: string; readonly kind: 'openmpi' | 'mpich' }[] {
  const given = process.env[MPI_LIBRARY_ENV];
  if (!given) return LIBRARIES;
  const [file, kind = 'openmpi'] = given.split(':');
  if (kind !== 'openmpi' && kind !== 'mpich')
    throw new MpiUnavailableError(`${MPI_LIBRARY_ENV}=${given}: the kind after ':' must be openmpi or mpich`);
  return [{ file, kind }];
}

/** MPICH's handles (mpi.h): MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM. */
const MPICH = { commWorld: 0x44000000, float: 0x4c00040a, sum: 0x58000003 };

const RTLD_NOW = 2;
const RTLD_GLOBAL = 0x100;

export const MPI_INSTALL_HINT =
  'install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin) or MPICH (apt-get install mpich) and launch with mpirun -np N';

interface Bindings {
  init(argc: null, argv: null): number;
  rank(comm: unknown, out: number[]): number;
  size(comm: unknown, out: number[]): number;
  allreduce(
    send: Float32Array,
    recv: Float32Array,
    count: number,
    type: unknown,
    op: unknown,
    comm: unknown,
  ): number;
  barrier(comm: unknown): number;
  abort(comm: unknown, code: number): number;
  finalize(): number;
}

export class Mpi implements ProcessGroup {
  private finalized = false;
  private send = new Float32Array(0);

  private constructor(
    private readonly b: Bindings,
    private readonly handles: { comm: unknown; float: unknown; sum: unknown },
    readonly rank: number,
    readonly size: number,
    /** Which library answered, for the log. */
    readonly library: string,
  ) {}

  /** Loads the system's MPI and initializes it (once per process). */
  static init(): Mpi {
    const libc = koffi.load('libc.so.6');
    const dlopen = libc.func('void *dlopen(const char *file, int mode)');
    const dlsym = libc.func('void *dlsym(void *handle, const char *name)');
    const tried = candidates();
    for (const { file, kind } of tried) {
      // RTLD_GLOBAL: Open MPI loads its own plugins, which need libmpi's symbols.
      const handle: unknown = dlopen(file, RTLD_NOW | RTLD_GLOBAL);
      if (!handle) continue;
      const lib = koffi.load(file);
      const handleType = kind === 'openmpi' ? 'void *' : 'int';
      const b: Bindings = {
        init: lib.func('int MPI_Init(void *argc, void *argv)'),
        rank: lib.func(`int MPI_Comm_rank(${handleType} comm, _Out_ int *rank)`),
        size: lib.func(`int MPI_Comm_size(${handleType} comm, _Out_ int *size)`),
        allreduce: lib.func(
          `int MPI_Allreduce(void *sendbuf, void *recvbuf, int count, ${handleType} datatype, ${handleType} op, ${handleType} comm)`,
        ),
        barrier: lib.func(`int MPI_Barrier(${handleType} comm)`),
        abort: lib.func(`int MPI_Abort(${handleType} comm, int code)`),
        finalize: lib.func('int MPI_Finalize()'),
      };
      const symbol = (name: string): unknown => {
        const address: unknown = dlsym(handle, name);
        if (!address) throw new MpiUnavailableError(`${file} has no symbol ${name}`);
        return address;
      };
      const handles =
        kind === 'openmpi'
          ? {
              comm: symbol('ompi_mpi_comm_world'),
              float: symbol('ompi_mpi_float'),
              sum: symbol('ompi_mpi_op_sum'),
            }
          : { comm: MPICH.commWorld, float: MPICH.float, sum: MPICH.sum };
      check(b.init(null, null), 'MPI_Init');
      const rank = [0];
      const size = [0];
      check(b.rank(handles.comm, rank), 'MPI_Comm_rank');
      check(b.size(handles.comm, size), 'MPI_Comm_size');
      return new Mpi(b, handles, rank[0], size[0], file);
    }
    throw new MpiUnavailableError(
      `no MPI library could be loaded (${tried.map((l) => l.file).join(', ')}): ${MPI_INSTALL_HINT}`,
    );
  }

  /**
   * Sums `data` over all ranks into `data` (every rank ends with the same sums). A copy is sent
   * rather than MPI_IN_PLACE, whose value differs between implementations.
   */
  allreduceSum(data: Float32Array): void {
    const { float, sum, comm } = this.handles;
    // The send copy is kept between calls: training all-reduces a buffer of the same size every update.
    if (this.send.length !== data.length) this.send = new Float32Array(data.length);
    this.send.set(data);
    check(this.b.allreduce(this.send, data, data.length, float, sum, comm), 'MPI_Allreduce');
  }

  barrier(): void {
    check(this.b.barrier(this.handles.comm), 'MPI_Barrier');
  }

  /** Ends every rank of the job with `code` (a rank that cannot go on must not leave the others waiting). */
  abort(code: number): never {
    this.b.abort(this.handles.comm, code);
    process.exit(code);
  }

  finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    check(this.b.finalize(), 'MPI_Finalize');
  }
}

function check(code: number, call: string): void {
  if (code !== 0) throw new Error(`${call} failed with MPI error ${code}`);
}
