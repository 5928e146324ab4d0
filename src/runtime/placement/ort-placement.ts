import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import type { EpName } from '../execution-providers';

/** Where onnxruntime put one node of the optimized graph. */
export interface PlacedNode {
  readonly name: string;
  readonly opType: string;
  /** ORT's provider name, e.g. WebGpuExecutionProvider, CPUExecutionProvider. */
  readonly provider: string;
}

export interface OrtPlacement {
  readonly nodes: PlacedNode[];
  /** Set when every node landed on one provider (ORT then lists none). */
  readonly all?: { provider: string; count: number };
  /** The graph after ORT's optimizations, with the types of the nodes it made, when ORT could save it. */
  readonly optimized?: onnx.ModelProto;
}

/** ORT could not create the session, so there is no placement to report. */
export class PlacementError extends Error {
  override name = 'PlacementError';
}

const ORT_PROVIDER: Record<EpName, string> = {
  cpu: 'CPUExecutionProvider',
  cuda: 'CUDAExecutionProvider',
  dml: 'DmlExecutionProvider',
  webgpu: 'WebGpuExecutionProvider',
};

export const ortProviderName = (ep: EpName): string => ORT_PROVIDER[ep];

const HEADER =
  /VerifyEachNodeIsAssignedToAnEp\]\s+(All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/;
const NODE = /VerifyEachNodeIsAssignedToAnEp\]\s{3}(\S+) \((.*)\)\s*$/;

/**
 * Parses ORT's verbose "Node placements" log (session_state.cc): a header per provider, then one
 * line per node. When every node landed on one provider ORT prints only the count; then `all`
 * names that provider and the list is empty.
 */
export function parsePlacementLog(log: string): {
  nodes: PlacedNode[];
  all?: { provider: string; count: number };
} {
  const nodes: PlacedNode[] = [];
  let provider: string | undefined;
  let all: { provider: string; count: number } | undefined;
  for (const line of log.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      provider = header[2];
      if (header[1] === 'All nodes') all = { provider, count: Number(header[3]) };
      continue;
    }
    const node = provider && NODE.exec(line);
    if (node) nodes.push({ opType: node[1], name: node[2], provider: provider! });
    else if (provider && !line.includes('VerifyEachNodeIsAssignedToAnEp')) provider = undefined;
  }
  return { nodes, all };
}

/**
 * The child: creates the session with verbose logging, which makes ORT print its node placements,
 * and saves the optimized graph (types of the nodes ORT made); without that file when it cannot.
 */
const childScript = (ortPath: string) => `
const ort = require(${JSON.stringify(ortPath)});
const [file, ep, optimized] = process.argv.slice(1);
const options = { executionProviders: [ep], logSeverityLevel: 0, logVerbosityLevel: 0 };
ort.InferenceSession.create(file, { ...options, optimizedModelFilePath: optimized })
  .catch(() => ort.InferenceSession.create(file, options))
  .then((s) => s.release())
  .catch((e) => { process.stderr.write('\\nPLACEMENT-FAILED ' + String(e && e.message).split('\\n')[0] + '\\n'); process.exit(2); });
`;

/**
 * Where onnxruntime-node places every node of a model on an execution provider, after its graph
 * optimizations, as ORT itself reports it. Runs in a child process: ORT writes the placement only
 * to its native log, and the provider (with its driver) is loaded there, not in this process.
 * `env` replaces the child's environment (e.g. to point the Vulkan loader at a driver).
 */
export async function ortPlacement(
  modelFile: string,
  ep: EpName,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OrtPlacement> {
  const ortPath = require.resolve('onnxruntime-node');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-placement-'));
  const optimizedFile = path.join(dir, 'optimized.onnx');
  const child = spawn(process.execPath, ['-e', childScript(ortPath), modelFile, ep, optimizedFile], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => chunks.push(d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const log = Buffer.concat(chunks).toString('utf8');
  let optimized: onnx.ModelProto | undefined;
  try {
    if (fs.existsSync(optimizedFile)) optimized = onnx.ModelProto.decode(fs.readFileSync(optimizedFile));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const failed = /PLACEMENT-FAILED (.*)/.exec(log);
  if (code !== 0 || failed) {
    throw new PlacementError(
      `onnxruntime could not create a ${ep} session for ${modelFile}: ${failed?.[1] ?? `exit ${code}`}`,
    );
  }
  const parsed = parsePlacementLog(log);
  if (!parsed.all && parsed.nodes.length === 0)
    throw new PlacementError(`onnxruntime printed no node placements for ${modelFile}`);
  return { ...parsed, optimized };
}
