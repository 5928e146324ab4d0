import { NEXT } from '../../graph-builder/training/step-graphs';

/** What both onnxruntime-node's and onnxruntime-web's tensors offer for carrying state. */
interface CarriedTensor {
  readonly location: string;
  dispose(): void;
}

/**
 * A step's outputs split by the naming convention of step-graphs.ts: each `X.next` replaces the
 * carried `X` (a replaced GPU buffer is freed), the other outputs are returned. Shared by the Node
 * StepSession and the page's WebStepSession.
 */
export function carryOutputs<T extends CarriedTensor>(
  outputs: Readonly<Record<string, T>>,
  carried: Map<string, T>,
): Record<string, T> {
  const results: Record<string, T> = {};
  for (const [name, t] of Object.entries(outputs)) {
    if (!name.endsWith(NEXT)) {
      results[name] = t;
      continue;
    }
    const key = name.slice(0, -NEXT.length);
    const previous = carried.get(key);
    carried.set(key, t);
    if (previous && previous !== t && previous.location === 'gpu-buffer') previous.dispose();
  }
  return results;
}
