/**
 * A quiet CLI: `npx cae-onnx` prints nothing on stderr for a plain call (no npm warnings about
 * project config), and the documented CUDA opt-in is what onnxruntime-node's installer understands.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CUDA_INSTALL_COMMAND } from '../../src/runtime/execution-providers';

jest.setTimeout(60_000);

const root = path.resolve(__dirname, '../..');

test('npx cae-onnx --help writes the help to stdout and nothing to stderr', () => {
  const r = spawnSync('npx', ['cae-onnx', '--help'], { cwd: root, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/Usage: cae-onnx/);
  expect(r.stderr).toBe('');
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
