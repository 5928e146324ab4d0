import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { mnistPaths } from '../runtime/data/idx';
import { WEB_STATIC_DIR } from './bundle-page';

/**
 * The local server of `cae-onnx web`: the page (dist/web/static), onnxruntime-web's own files under
 * /ort/, and MNIST under /data/mnist/. Every response is cross-origin isolated (COOP + COEP), which
 * threaded WASM needs (SharedArrayBuffer). Only these files are served: paths are looked up in a
 * fixed table, never joined onto a folder.
 */

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** URL path -> file. */
function routes(): Map<string, string> {
  const table = new Map<string, string>();
  if (!fs.existsSync(path.join(WEB_STATIC_DIR, 'page.js')))
    throw new Error(`the page is not built (${WEB_STATIC_DIR} lacks page.js): run npm run build`);
  for (const f of fs.readdirSync(WEB_STATIC_DIR)) table.set(`/${f}`, path.join(WEB_STATIC_DIR, f));
  table.set('/', path.join(WEB_STATIC_DIR, 'index.html'));
  // the package's main file sits in its dist folder, with the .mjs and .wasm files
  const ort = path.dirname(require.resolve('onnxruntime-web'));
  for (const f of fs.readdirSync(ort)) {
    if (/^ort(-wasm-simd-threaded(\.\w+)?|\.webgpu\.min)\.(mjs|wasm)$/.test(f))
      table.set(`/ort/${f}`, path.join(ort, f));
  }
  // images only: pretraining in the page needs no labels
  for (const split of ['train', 'test'] as const)
    table.set(`/data/mnist/${split}-images`, mnistPaths(split).images);
  return table;
}

export interface WebServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the server on host:port (port 0: any free port). */
export async function startWebServer(o: { host: string; port: number }): Promise<WebServer> {
  const table = routes();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const file = table.get(url.pathname);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD', ...ISOLATION_HEADERS }).end();
      return;
    }
    if (!file) {
      response.writeHead(404, { 'Content-Type': 'text/plain', ...ISOLATION_HEADERS }).end('not found\n');
      return;
    }
    fs.stat(file, (error, stat) => {
      if (error) {
        response
          .writeHead(500, { 'Content-Type': 'text/plain', ...ISOLATION_HEADERS })
          .end(`${error.message}\n`);
        return;
      }
      response.writeHead(200, {
        'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': stat.size,
        'Cache-Control': 'no-cache',
        ...ISOLATION_HEADERS,
      });
      if (request.method === 'HEAD') response.end();
      else fs.createReadStream(file).pipe(response);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
