import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The package's root folder: the nearest folder above this file whose package.json is cae-onnx's
 * (src/artifacts/, dist/artifacts/ and dist-bench/src/artifacts/ sit at different depths below it).
 */
function findPackageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (
      fs.existsSync(file) &&
      (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === 'cae-onnx'
    )
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`no cae-onnx package.json above ${__dirname}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot();

/** The package's version, read from package.json (one place), recorded in every manifest. */
export const CAE_ONNX_VERSION = (
  JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
