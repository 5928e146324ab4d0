import type { PageRequest, WorkerMessage } from '../protocol';
import { prepareTraining } from './web-run-setup';
import { WebTraining } from './web-training';

/**
 * The page's training worker: receives the page's requests (protocol.ts) and runs one training at
 * a time off the page's thread, so that the page stays responsive.
 */

const scope = self as DedicatedWorkerGlobalScope;
const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

let training: WebTraining | undefined;
let running = false;

async function handle(request: PageRequest): Promise<void> {
  if (request.type === 'start') {
    if (running) throw new Error('a run is already in progress');
    running = true;
    try {
      await training?.release();
      training = new WebTraining(await prepareTraining(request, post), post);
    } catch (e) {
      running = false;
      throw e;
    }
    void training.loop().finally(() => (running = false));
    return;
  }
  if (!training) throw new Error('no run yet: start one first');
  if (request.type === 'stop') return training.stop();
  const file = await training.download(request.what);
  post({ type: 'file', ...file }, [file.bytes.buffer]);
}

scope.onmessage = (event: MessageEvent<PageRequest>) => {
  handle(event.data).catch((e: unknown) =>
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
};
