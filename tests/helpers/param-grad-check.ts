import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import {
  buildEvalStep,
  buildGradStep,
  gradOutputName,
  StepModel,
} from '../../src/graph-builder/training/step-graphs';
import { Rng } from '../../src/random/rng';
import { ModelSession } from '../../src/runtime/session';

/**
 * A model's parameter gradients (grad_step) against central differences of its loss (eval_step),
 * both in onnxruntime-node, at `samples` random elements of every parameter not matching `skip`.
 * float32 throughout: with eps 1e-2 on a loss of O(1), rounding contributes ~1e-5 and truncation
 * ~1e-4, hence the 2e-3 + 2% tolerance. Returns the failures and how many elements were checked.
 */
export async function checkParamGradients(
  model: StepModel,
  params: ReadonlyMap<string, TensorData>,
  feeds: Readonly<Record<string, TensorData>>,
  rng: Rng,
  { skip, samples = 2 }: { skip?: RegExp; samples?: number } = {},
): Promise<{ failures: string[]; checked: number }> {
  const gradSession = await ModelSession.create(toModelProto(buildGradStep(model), { paramsAs: 'inputs' }));
  const evalSession = await ModelSession.create(toModelProto(buildEvalStep(model), { paramsAs: 'inputs' }));
  try {
    const analytic = await gradSession.run({ ...feeds, ...Object.fromEntries(params) });
    const lossWith = async (name: string, i: number, delta: number) => {
      const t = params.get(name)!;
      const data = (t.data as Float32Array).slice();
      data[i] += delta;
      const out = await evalSession.run(
        { ...feeds, ...Object.fromEntries(params), [name]: tensorData('float32', t.shape, data) },
        ['loss'],
      );
      return Number(out.loss.data[0]);
    };
    const eps = 1e-2;
    const failures: string[] = [];
    let checked = 0;
    for (const [name, t] of params) {
      if (skip?.test(name)) continue;
      const g = analytic[gradOutputName(name)].data as Float32Array;
      for (let k = 0; k < samples; k++) {
        const i = rng.int(0, t.data.length - 1);
        const numeric = ((await lossWith(name, i, eps)) - (await lossWith(name, i, -eps))) / (2 * eps);
        checked++;
        if (Math.abs(g[i] - numeric) > 2e-3 + 0.02 * Math.abs(numeric))
          failures.push(`${name}[${i}]: ${g[i]} vs ${numeric}`);
      }
    }
    return { failures, checked };
  } finally {
    await gradSession.release();
    await evalSession.release();
  }
}
