/**
 * The fine-tuning classifier graph (groundwork for `cae-onnx finetune`): names as the reference's
 * fine-tuning model, gradients against central differences, and the deployment graph consistent with
 * the training loss.
 */
import { initializeParams } from '../../src/artifacts/initialize-params';
import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import {
  buildClassifierGraph,
  FINETUNE_INPUTS,
  finetuneModel,
} from '../../src/graph-builder/finetune/classifier';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { buildEvalStep } from '../../src/graph-builder/training/step-graphs';
import { Rng } from '../../src/random/rng';
import { ModelSession } from '../../src/runtime/session';
import { checkParamGradients } from '../helpers/param-grad-check';
import { smallCaeConfig } from '../helpers/small-cae';

const CLASSES = 5;
const c = smallCaeConfig({ batch: 2, depth: 2, dropPathRate: 0.1 });

function setup(seed: number) {
  const rng = new Rng(seed);
  const model = finetuneModel(c, CLASSES);
  const g = new Graph('params');
  model(g);
  const params = initializeParams(g.params, 1);
  for (const [, t] of params) {
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] += 0.05 * rng.normal(); // no parameter at a special value
  }
  const targets = Float32Array.from({ length: 2 * CLASSES }, () => rng.uniform());
  for (let b = 0; b < 2; b++) {
    const row = targets.subarray(b * CLASSES, (b + 1) * CLASSES);
    const total = row.reduce((a, v) => a + v, 0);
    row.forEach((v, i) => (row[i] = v / total)); // soft targets sum to 1
  }
  const feeds = (keep: number[]): Record<string, TensorData> => ({
    [FINETUNE_INPUTS.images]: tensorData(
      'float32',
      [2, 1, 28, 28],
      Float32Array.from({ length: 2 * 784 }, () => rng.normal()),
    ),
    [FINETUNE_INPUTS.targets]: tensorData('float32', [2, CLASSES], targets),
    [FINETUNE_INPUTS.keep]: tensorData('float32', [2, 2], Float32Array.from(keep)),
  });
  return { model, params, feeds, rng, targets };
}

test('parameters are named as the reference fine-tuning model: encoder blocks, fc_norm, head; no encoder.norm', () => {
  const { params } = setup(1);
  const names = [...params.keys()];
  expect(names).toEqual(
    expect.arrayContaining(['fc_norm.weight', 'fc_norm.bias', 'head.weight', 'head.bias']),
  );
  expect(names.some((n) => n.startsWith('encoder.blocks.1.'))).toBe(true);
  expect(names.some((n) => n.startsWith('encoder.norm.'))).toBe(false);
});

test('gradients match central differences (with drop path)', async () => {
  const { model, params, feeds, rng } = setup(2);
  const inputs = feeds([1, 1 / 0.9, 0, 1]); // block 0 keeps both samples, block 1 drops the first
  const { failures } = await checkParamGradients(model, params, inputs, rng);
  expect(failures).toEqual([]);
});

test("the deployment classifier's logits give the training loss (soft-target cross-entropy, no drop path)", async () => {
  const { model, params, feeds, targets } = setup(3);
  const inputs = feeds([1, 1, 1, 1]);
  const evalSession = await ModelSession.create(toModelProto(buildEvalStep(model), { paramsAs: 'inputs' }));
  const loss = Number((await evalSession.run({ ...inputs, ...Object.fromEntries(params) })).loss.data[0]);
  const deploy = await ModelSession.create(
    toModelProto(buildClassifierGraph(c, CLASSES), { paramsAs: 'initializers', paramValues: params }),
  );
  const logits = (await deploy.run({ images: inputs[FINETUNE_INPUTS.images] })).logits.data as Float32Array;
  await evalSession.release();
  await deploy.release();
  let expected = 0;
  for (let b = 0; b < 2; b++) {
    const row = Array.from(logits.subarray(b * CLASSES, (b + 1) * CLASSES));
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    row.forEach((v, k) => (expected -= (targets[b * CLASSES + k] * (v - logZ)) / 2));
  }
  expect(Math.abs(loss - expected)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
});
