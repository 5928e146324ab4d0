import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package's version, read from package.json (one place), recorded in every manifest. */
function packageVersion(): string {
  // src/artifacts/ and dist/artifacts/ both sit two levels below the package root.
  const file = path.join(__dirname, '..', '..', 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

export const CAE_ONNX_VERSION = packageVersion();
