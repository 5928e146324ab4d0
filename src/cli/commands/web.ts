import { Command } from 'commander';
import { startWebServer } from '../../web/server';
import { nonNegativeInt } from '../options';
import { UserError } from '../run-command';

interface WebFlags {
  host: string;
  port: number;
}

export function registerWeb(program: Command): void {
  program
    .command('web')
    .description(
      'serve a page that pretrains in the browser tab (WebGPU, or threaded WASM): MNIST or a picked image folder, ' +
        'live loss and reconstructions, checkpoints that the CLI resumes, exports and probes',
    )
    .option('--host <address>', 'address to listen on (other machines: 0.0.0.0)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', nonNegativeInt, 8080)
    .action(async (flags: WebFlags) => {
      if (flags.port > 65535) throw new UserError(`--port ${flags.port}: a port is at most 65535`);
      let server;
      try {
        server = await startWebServer(flags);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE')
          throw new UserError(`port ${flags.port} is in use: pass another --port (0: any)`);
        throw new UserError((e as Error).message);
      }
      process.stdout.write(`open ${server.url} in a browser (Ctrl-C stops the server)\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
