import { Graph } from '../core/graph';
import type { Tensor } from '../core/tensor';
import * as op from '../ops';

/** Sizes of a DALL-E d-VAE encoder (OpenAI's `dall_e.encoder.Encoder`; the paper's tokenizer: 256, 2, 3, 8192). */
export interface DallEEncoderSpec {
  readonly nHid: number;
  readonly blocksPerGroup: number;
  readonly inChans: number;
  readonly vocabSize: number;
  /** Input side in pixels (112 for a 224 CAE: 3 poolings give its 14x14 grid). */
  readonly imageSize: number;
}

const GROUPS = 4;

/** Conv with 'same' padding and parameters `<scope>.w` [out, in, k, k], `<scope>.b` [out], as dall_e.utils.Conv2d. */
function conv(x: Tensor, scope: string, nIn: number, nOut: number, k: number): Tensor {
  const g = x.graph;
  const p = (k - 1) / 2;
  return g.withScope(scope, () =>
    op.conv(x, g.param('w', [nOut, nIn, k, k]), g.param('b', [nOut]), { pads: [p, p, p, p] }),
  );
}

/** Residual block: id_path (1x1 conv when widths differ) + post_gain * (relu, conv 3x3) x3, relu, conv 1x1. */
function block(x: Tensor, scope: string, nIn: number, nOut: number, postGain: number): Tensor {
  const g = x.graph;
  const hid = nOut / 4;
  return g.withScope(scope, () => {
    const id = nIn === nOut ? x : conv(x, 'id_path', nIn, nOut, 1);
    const res = g.withScope('res_path', () => {
      let h = conv(op.relu(x), 'conv_1', nIn, hid, 3);
      h = conv(op.relu(h), 'conv_2', hid, hid, 3);
      h = conv(op.relu(h), 'conv_3', hid, hid, 3);
      return conv(op.relu(h), 'conv_4', hid, nOut, 1);
    });
    return op.add(id, op.mul(res, postGain));
  });
}

/**
 * The DALL-E d-VAE encoder as a graph, parameters named as its state dict (`blocks.input.w`,
 * `blocks.group_1.block_1.res_path.conv_1.w`, ...): image [batch, C, S, S] with pixels already
 * mapped as dall_e.utils.map_pixels does (0.8 x + 0.1) -> logits [batch, vocab, S/8, S/8].
 */
export function dallEEncoderGraph(s: DallEEncoderSpec): Graph {
  if (s.nHid % 4 !== 0) throw new Error(`DALL-E encoder width ${s.nHid} is not a multiple of 4`);
  const g = new Graph('dall_e_encoder');
  const image = g.input('image', 'float32', ['batch', s.inChans, s.imageSize, s.imageSize]);
  const postGain = 1 / (GROUPS * s.blocksPerGroup) ** 2;
  const logits = g.withScope('blocks', () => {
    let x = conv(image, 'input', s.inChans, s.nHid, 7);
    let width = s.nHid;
    for (let group = 1; group <= GROUPS; group++) {
      const out = s.nHid * 2 ** (group - 1);
      x = g.withScope(`group_${group}`, () => {
        let h = x;
        for (let i = 1; i <= s.blocksPerGroup; i++) {
          h = block(h, `block_${i}`, i === 1 ? width : out, out, postGain);
        }
        return group < GROUPS ? op.maxPool(h, 2) : h;
      });
      width = out;
    }
    return g.withScope('output', () => conv(op.relu(x), 'conv', width, s.vocabSize, 1));
  });
  g.output('logits', logits);
  return g;
}
