/**
 * A quiet CLI: `npx cae-onnx` prints nothing on stderr for a plain call (no npm warnings about
 * project config), and the documented CUDA opt-in is what onnxruntime-node's installer understands.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CUDA_INSTALL_COMMAND } from '../../src/runtime/execution-providers';

jest.setTimeout(60_000);

const root = path.resolve(__dirname, '../..');

/** The npm that Node 20 ships (10.8.2), from the npm registry into a cache folder, once. */
function npm10Bin(): string {
  const prefix = path.join(os.tmpdir(), 'cae-onnx-npm-10.8.2');
  const bin = path.join(prefix, 'node_modules', 'npm', 'bin');
  if (!fs.existsSync(path.join(bin, 'npx-cli.js'))) {
    const r = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', 'npm@10.8.2'], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`could not install npm 10.8.2: ${r.stderr}`);
  }
  return bin;
}

/**
 * `npx cae-onnx` in the project folder as a newcomer's first call: npx links the project into a
 * cache of its own, here a new one per call, so no earlier call (or an earlier test) decides what
 * this one does. npm's update notice is npm's own message, not the project's, and is turned off.
 */
function firstNpx(
  command: string,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'cae-onnx-npx-cache-'));
  try {
    return spawnSync(command, args, {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, npm_config_cache: cache, npm_config_update_notifier: 'false' },
    });
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

/** Status and both streams in one value, so a failure shows what npx said. */
function outcome(r: { status: number | null; stdout: string; stderr: string }) {
  return { status: r.status, usage: /Usage: cae-onnx/.test(r.stdout), stderr: r.stderr };
}

beforeAll(() => {
  // npx runs the package.json bin; without a build there is nothing to run.
  expect(fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))).toBe(true);
});

test('npx cae-onnx --help writes the help to stdout and nothing to stderr (this npm)', () => {
  const r = firstNpx('npx', ['cae-onnx', '--help']);
  expect(outcome(r)).toEqual({ status: 0, usage: true, stderr: '' });
});

test("npx cae-onnx --help is as quiet with Node 20's own npm (10.8.2)", () => {
  const bin = npm10Bin();
  const version = spawnSync(process.execPath, [path.join(bin, 'npm-cli.js'), '--version'], {
    encoding: 'utf8',
  });
  expect(version.stdout.trim()).toBe('10.8.2');
  const r = firstNpx(process.execPath, [path.join(bin, 'npx-cli.js'), 'cae-onnx', '--help']);
  expect(outcome(r)).toEqual({ status: 0, usage: true, stderr: '' });
});

test('the project sets no npm config that npm does not know', () => {
  expect(fs.existsSync(path.join(root, '.npmrc'))).toBe(false);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    allowScripts: Record<string, boolean>;
  };
  // npm 11 skips unapproved install scripts; denying them keeps `npm ci` from listing them.
  expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
});

test("the CUDA opt-in makes onnxruntime-node's installer fetch its CUDA 12 libraries, and the README gives it", () => {
  const [assignment, ...command] = CUDA_INSTALL_COMMAND.split(' ');
  const [name, value] = assignment.split('=');
  expect(command.slice(0, 2)).toEqual(['node', 'node_modules/onnxruntime-node/script/install']);
  expect(fs.existsSync(path.join(root, command[1] + '.js'))).toBe(true);
  // The installer's own flag parser reads the variable as "install", and on Linux x64 what it
  // installs is the CUDA 12 provider.
  const parsed = spawnSync(
    'node',
    ['-p', "require('./node_modules/onnxruntime-node/script/install-utils.js').parseInstallFlag()"],
    { cwd: root, encoding: 'utf8', env: { ...process.env, [name]: value } },
  );
  expect(parsed.stdout.trim()).toBe('true');
  const requirements = spawnSync(
    'node',
    [
      '-p',
      "JSON.stringify(require('./node_modules/onnxruntime-node/script/install-metadata.js').requirements)",
    ],
    { cwd: root, encoding: 'utf8' },
  );
  const metadata = { requirements: JSON.parse(requirements.stdout) as Record<string, string[]> };
  expect(metadata.requirements['linux/x64']).toEqual(['cuda12']);
  expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).toContain(CUDA_INSTALL_COMMAND);
});
