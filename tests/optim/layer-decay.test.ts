import { Graph } from '../../src/graph-builder/core/graph';
import { tensorData, TensorData } from '../../src/graph-builder/core/tensor-data';
import * as op from '../../src/graph-builder/ops';
import { toModelProto } from '../../src/graph-builder/onnx/to-model-proto';
import { adamw } from '../../src/graph-builder/optim/adamw';
import { layerDecayScale, layerId } from '../../src/graph-builder/optim/layer-decay';
import { buildTrainStep } from '../../src/graph-builder/training/step-graphs';
import { StepSession, stepScalars } from '../../src/runtime/train/step-session';

const DEPTH = 2;
const DECAY = 0.65;
/** A ViT's parameter names and shapes (one large enough to be updated on its own, the rest grouped). */
const PARAMS: [string, number[]][] = [
  ['encoder.patch_embed.proj.weight', [8, 1, 4, 4]],
  ['encoder.cls_token', [1, 1, 8]],
  ['encoder.pos_embed', [1, 5, 8]],
  ['encoder.blocks.0.mlp.fc1.weight', [300, 300]],
  ['encoder.blocks.0.norm1.weight', [8]],
  ['encoder.blocks.1.attn.qkv.weight', [24, 8]],
  ['encoder.norm.weight', [8]],
  ['head.weight', [10, 8]],
  ['head.bias', [10]],
];

test("layer ids follow BEiT's get_layer_id_for_vit", () => {
  expect(PARAMS.map(([n]) => layerId(n, DEPTH))).toEqual([0, 0, 0, 1, 1, 2, 3, 3, 3]);
});

/** One AdamW step on loss = sum(p * c) from the given start; returns each parameter's new value. */
async function oneStep(start: number, coefficient: number, weightDecay: number, lr: number) {
  const model = (g: Graph) => {
    const terms = PARAMS.map(([name, shape]) => {
      const p = g.param(name, shape, { weightDecay: shape.length > 1 });
      return op.reduceSum(op.mul(p, coefficient));
    });
    return { loss: op.sum(...terms) };
  };
  const graph = buildTrainStep(model, {
    optimizer: adamw({ weightDecay }),
    lrScale: (p) => layerDecayScale(p.name, DEPTH, DECAY),
  });
  const initial = new Map<string, TensorData>(
    PARAMS.map(([name, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return [name, tensorData('float32', shape, new Float32Array(n).fill(start))];
    }),
  );
  const session = await StepSession.create(toModelProto(graph, { paramsAs: 'inputs' }), initial);
  await session.run(stepScalars(lr, 1));
  const state = await session.snapshot();
  await session.release();
  return state;
}

test('each parameter moves by base lr x decay^(depth+1-layer), grouped or not', async () => {
  const lr = 1e-3;
  // From zero with a constant gradient, Adam's first step is lr x sign(g) (|g| >> eps).
  const after = await oneStep(0, 0.5, 0, lr);
  for (const [name] of PARAMS) {
    const want = lr * DECAY ** (DEPTH + 1 - layerId(name, DEPTH));
    for (const v of after.get(name)!.data as Float32Array)
      expect(Math.abs(-v - want) / want).toBeLessThan(1e-5);
  }
});

test('weight decay uses the scaled lr too (as a PyTorch param group does)', async () => {
  const lr = 1e-2;
  const wd = 0.1;
  // No gradient: only the decoupled decay p <- p (1 - lr_scaled wd) moves decayed (matrix) parameters.
  const after = await oneStep(1, 0, wd, lr);
  for (const [name, shape] of PARAMS) {
    const scaled = lr * layerDecayScale(name, DEPTH, DECAY);
    const want = shape.length > 1 ? 1 - scaled * wd : 1;
    for (const v of after.get(name)!.data as Float32Array) expect(v).toBeCloseTo(want, 6);
  }
});
