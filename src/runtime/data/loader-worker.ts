/**
 * Worker thread of `BatchLoader`: builds the batches it is asked for. `workerData` is the BuildSpec.
 * Started as compiled JS (dist) or, from the TypeScript sources, through the loader's swc hook.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BatchBuilder } from './batch-builder';
import type { BuildSpec, WorkerRequest, WorkerResponse } from './types';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('loader-worker must run in a worker thread');
  const post = (msg: WorkerResponse, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer);
  let builder: BatchBuilder;
  try {
    builder = BatchBuilder.create(workerData as BuildSpec);
  } catch (e) {
    post({ type: 'failed', message: message(e) });
    return;
  }
  port.on('message', (req: WorkerRequest) => {
    if (req.type === 'close') {
      port.close(); // nothing else keeps this thread alive: it exits once batches in progress end
      return;
    }
    builder.build(req.epoch, req.position).then(
      (payload) => {
        const transfer = [payload.images.buffer, payload.labels.buffer];
        if (payload.tokenizerImages) transfer.push(payload.tokenizerImages.buffer);
        post({ type: 'batch', id: req.id, payload }, transfer as ArrayBuffer[]);
      },
      (e: unknown) => post({ type: 'error', id: req.id, message: message(e) }),
    );
  });
  post({ type: 'ready', size: builder.size });
}

main();
