import { FileFormatError } from '../file-format-error';
import type { CaeConfig } from '../../graph-builder/cae/config';
import { tensorData, TensorData } from '../../graph-builder/core/tensor-data';
import { positionParameter } from '../reference-state-dict';

/** A weight file whose layout or values cannot become a CAE (the reason is the user's to act on). */
export class ImportError extends FileFormatError {
  override name = 'ImportError';
}

export type Layout = 'cae-pretrain' | 'cae-encoder' | 'vit' | 'mmpretrain';

export interface MappedWeights {
  readonly layout: Layout;
  /** Under our (the reference checkpoint's) names. */
  readonly params: Map<string, TensorData>;
  /** Sizes read from the tensors. */
  readonly config: Partial<CaeConfig>;
  /** Source names ignored (with why), and notes for the report. */
  readonly ignored: { name: string; why: string }[];
  readonly notes: string[];
}

/**
 * mmpretrain's ViT names (`backbone.layers.N.ln1`, `ffn.layers.0.0`, `patch_embed.projection`, final
 * `ln1`) as timm's, so that one ViT mapping serves both. Only names under `backbone.` are renamed.
 */
function fromMmpretrain(
  all: ReadonlyMap<string, TensorData>,
): { tensors: Map<string, TensorData>; outside: string[] } | undefined {
  if (!all.has('backbone.cls_token') && !all.has('state_dict.backbone.cls_token')) return undefined;
  const out = new Map<string, TensorData>();
  const outside: string[] = [];
  for (const [name, t] of all) {
    const m = /^(?:state_dict\.)?backbone\.(.*)$/.exec(name);
    if (!m) {
      outside.push(name);
      continue;
    }
    const renamed = m[1]
      .replace(/^patch_embed\.projection\./, 'patch_embed.proj.')
      .replace(/^ln1\./, 'norm.')
      .replace(/^layers\.(\d+)\./, 'blocks.$1.')
      .replace(/^(blocks\.\d+)\.ln1\./, '$1.norm1.')
      .replace(/^(blocks\.\d+)\.ln2\./, '$1.norm2.')
      .replace(/^(blocks\.\d+)\.ffn\.layers\.0\.0\./, '$1.mlp.fc1.')
      .replace(/^(blocks\.\d+)\.ffn\.layers\.1\./, '$1.mlp.fc2.')
      .replace(/^(blocks\.\d+)\.(?:ffn\.)?(?:ls1|gamma1)\.(?:weight|gamma)$/, '$1.gamma_1')
      .replace(/^(blocks\.\d+)\.(?:ffn\.)?(?:ls2|gamma2)\.(?:weight|gamma)$/, '$1.gamma_2');
    out.set(renamed, t);
  }
  return { tensors: out, outside };
}

/** Prefixes that wrap a state dict in training checkpoints (`{'model': state_dict}`, DDP's `module.`). */
const WRAPPERS = ['model.', 'module.', 'state_dict.', 'model.module.'];

/** Strips the wrapper that leads to a known layout; other top-level entries (args, optimizer) are ignored. */
function unwrap(all: ReadonlyMap<string, TensorData>): {
  tensors: Map<string, TensorData>;
  outside: string[];
} {
  const known = (names: Iterable<string>) => [...names].some((n) => /^(encoder\.)?cls_token$/.test(n));
  if (known(all.keys())) return { tensors: new Map(all), outside: [] };
  for (const prefix of [...WRAPPERS].sort((a, b) => b.length - a.length)) {
    const inner = [...all]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v] as const);
    if (inner.length > 0 && known(inner.map(([k]) => k))) {
      return { tensors: new Map(inner), outside: [...all.keys()].filter((k) => !k.startsWith(prefix)) };
    }
  }
  throw new ImportError(
    'no ViT or CAE weights found (looked for cls_token and patch_embed.proj.weight, also under model., module., state_dict.)',
  );
}

const blockIndices = (names: Iterable<string>, prefix: string) =>
  [
    ...new Set(
      [...names].map((n) => new RegExp(`^${prefix}\\.(\\d+)\\.`).exec(n)?.[1]).filter((i) => i !== undefined),
    ),
  ]
    .map(Number)
    .sort((a, b) => a - b);

function need(tensors: ReadonlyMap<string, TensorData>, name: string): TensorData {
  const t = tensors.get(name);
  if (!t) throw new ImportError(`${name} is missing`);
  return t;
}

/** Sizes of the encoder read from its tensors; heads cannot be read from weights and come from the caller. */
function encoderSizes(t: ReadonlyMap<string, TensorData>, prefix: string): Partial<CaeConfig> {
  const proj = need(t, `${prefix}patch_embed.proj.weight`); // [D, C, p, p]
  const [embedDim, inChans, patchSize] = proj.shape;
  const depth = blockIndices(t.keys(), `${prefix}blocks`).length;
  if (depth === 0) throw new ImportError(`no ${prefix}blocks.N found`);
  const sizes: Partial<CaeConfig> = { embedDim, inChans, patchSize, depth };
  const pos = t.get(`${prefix}pos_embed`);
  if (pos) {
    const side = Math.sqrt(pos.shape[pos.shape.length - 2] - 1);
    if (Number.isInteger(side)) return { ...sizes, imageSize: side * patchSize };
  }
  return sizes;
}

/**
 * What a position table is: CAE's fixed 2-D sin-cos one (rebuilt, not imported) or a learned one
 * (timm's supervised ViTs), which is carried as the parameter `encoder.pos_embed`.
 */
function positionKind(
  pos: TensorData | undefined,
  name: string,
  sizes: Partial<CaeConfig>,
): { learned: boolean; note?: string } {
  if (!pos) return { learned: false };
  const dim = sizes.embedDim!;
  const side = (sizes.imageSize ?? 0) / sizes.patchSize!;
  const want = positionParameter(side, dim).data as Float32Array;
  const got = pos.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < want.length && i < got.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
  if (got.length !== want.length || worst > 1e-3)
    return { learned: true, note: `${name}: a learned position table (carried as encoder.pos_embed)` };
  return {
    learned: false,
    note: `${name}: the fixed 2-D sin-cos table (rebuilt, max difference ${worst.toExponential(1)})`,
  };
}

/** A plain ViT's encoder (timm, MAE, BEiT, CAE fine-tuned) under our `encoder.*` names. */
function mapVit(
  t: ReadonlyMap<string, TensorData>,
  out: Map<string, TensorData>,
  used: Set<string>,
): string[] {
  const notes: string[] = [];
  const take = (from: string, to: string) => {
    out.set(to, need(t, from));
    used.add(from);
  };
  const d = need(t, 'cls_token').shape.at(-1)!;
  take('patch_embed.proj.weight', 'encoder.patch_embed.proj.weight');
  take('patch_embed.proj.bias', 'encoder.patch_embed.proj.bias');
  take('cls_token', 'encoder.cls_token');
  let filledGammas = false;
  for (const i of blockIndices(t.keys(), 'blocks')) {
    const b = `blocks.${i}`;
    const e = `encoder.blocks.${i}`;
    for (const part of ['norm1', 'norm2', 'attn.proj', 'mlp.fc1', 'mlp.fc2'])
      for (const w of ['weight', 'bias']) take(`${b}.${part}.${w}`, `${e}.${part}.${w}`);
    take(`${b}.attn.qkv.weight`, `${e}.attn.qkv.weight`);
    if (t.has(`${b}.attn.q_bias`)) {
      take(`${b}.attn.q_bias`, `${e}.attn.q_bias`);
      take(`${b}.attn.v_bias`, `${e}.attn.v_bias`);
    } else if (t.has(`${b}.attn.qkv.bias`)) {
      const qkv = t.get(`${b}.attn.qkv.bias`)!.data as Float32Array;
      const k = qkv.subarray(d, 2 * d);
      const worst = k.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      if (worst > 1e-6) {
        throw new ImportError(
          `${b}.attn.qkv.bias has a key bias (largest |value| ${worst.toPrecision(3)}); CAE's attention has query and ` +
            'value biases only (the key bias is fixed at zero), so dropping it would change the model',
        );
      }
      out.set(`${e}.attn.q_bias`, tensorData('float32', [d], qkv.slice(0, d)));
      out.set(`${e}.attn.v_bias`, tensorData('float32', [d], qkv.slice(2 * d, 3 * d)));
      used.add(`${b}.attn.qkv.bias`);
    } else {
      out.set(`${e}.attn.q_bias`, tensorData('float32', [d], new Float32Array(d)));
      out.set(`${e}.attn.v_bias`, tensorData('float32', [d], new Float32Array(d)));
      notes.push('no qkv bias: query and value biases set to zero');
    }
    for (const [n, timm] of [
      ['gamma_1', 'ls1.gamma'],
      ['gamma_2', 'ls2.gamma'],
    ]) {
      if (t.has(`${b}.${n}`)) take(`${b}.${n}`, `${e}.${n}`);
      else if (t.has(`${b}.${timm}`)) take(`${b}.${timm}`, `${e}.${n}`);
      else {
        out.set(`${e}.${n}`, tensorData('float32', [d], new Float32Array(d).fill(1)));
        filledGammas = true;
      }
    }
  }
  if (filledGammas)
    notes.push('no layer scale in the file: gamma_1 and gamma_2 set to 1 (the same function)');
  if (t.has('norm.weight')) {
    take('norm.weight', 'encoder.norm.weight');
    take('norm.bias', 'encoder.norm.bias');
  } else if (t.has('fc_norm.weight')) {
    take('fc_norm.weight', 'encoder.norm.weight');
    take('fc_norm.bias', 'encoder.norm.bias');
    notes.push('fc_norm (the fine-tuned model pools patch tokens) used as the final norm over every token');
  } else throw new ImportError('neither norm.weight nor fc_norm.weight: the final norm is missing');
  return notes;
}

/**
 * Maps a state dict (flattened tensor names, as read from a .pt or .safetensors file) to our
 * parameter names: the official CAE pretraining layout (the same names as ours), an encoder-only
 * CAE file, or a plain ViT (timm / MAE / BEiT / CAE fine-tuned). Sizes come from the tensors.
 */
/**
 * Tensors an import never uses, left unread: the reference's alignment copy of the encoder (as large
 * as the encoder itself) and optimizer state.
 */
export const UNUSED_TENSORS = /(^|\.)(alignment_encoder|teacher)\.|(^|\.)optimizer\./;

export function mapWeights(
  all: ReadonlyMap<string, TensorData>,
  unread: readonly string[] = [],
): MappedWeights {
  const mm = fromMmpretrain(all);
  const { tensors: t, outside } = mm ?? unwrap(all);
  const used = new Set<string>();
  const params = new Map<string, TensorData>();
  const notes: string[] = [];
  let layout: Layout;
  let config: Partial<CaeConfig>;
  /** The encoder's position table: rebuilt when it is the sin-cos one, else carried as a parameter. */
  const positions = (name: string) => {
    const pos = positionKind(t.get(name), name, config);
    if (pos.note) notes.push(pos.note);
    if (!pos.learned) return;
    config = { ...config, learnedPositions: true };
    params.set('encoder.pos_embed', t.get(name)!);
    used.add(name);
  };
  if (t.has('encoder.cls_token')) {
    config = encoderSizes(t, 'encoder.');
    positions('encoder.pos_embed');
    const full = t.has('mask_token');
    layout = full ? 'cae-pretrain' : 'cae-encoder';
    for (const [name, value] of t) {
      const ours =
        name.startsWith('encoder.') ||
        name.startsWith('regresser.') ||
        name.startsWith('decoder.') ||
        name.startsWith('encoder_to_regresser') ||
        name === 'mask_token';
      if (ours && name !== 'encoder.pos_embed') {
        params.set(name, value);
        used.add(name);
      }
    }
    if (full) {
      const dd = need(t, 'mask_token').shape.at(-1)!;
      const head = need(t, 'decoder.head.weight');
      const patchDim = config.patchSize! ** 2 * config.inChans!;
      config = {
        ...config,
        decoderEmbedDim: dd,
        regressorDepth: blockIndices(t.keys(), 'regresser.regressor_blocks').length,
        decoderDepth: blockIndices(t.keys(), 'decoder.decoder_blocks').length,
        ...(head.shape[0] === patchDim
          ? { target: 'pixels' }
          : { target: 'tokens', vocabSize: head.shape[0] }),
      };
      const rd = positionKind(t.get('rd_pos_embed'), 'rd_pos_embed', { ...config, embedDim: dd });
      if (rd.learned)
        throw new ImportError(
          'rd_pos_embed is not the fixed sin-cos table CAE uses for the regressor and decoder',
        );
      if (rd.note) notes.push(rd.note);
    }
  } else {
    const relative = [...t.keys()].find((n) => /relative_position_bias_table|rel_pos_bias/.test(n));
    if (relative) {
      throw new ImportError(
        `${relative}: relative position biases (BEiT-style) are not part of the CAE encoder, and ignoring them would change the model`,
      );
    }
    layout = mm ? 'mmpretrain' : 'vit';
    config = encoderSizes(t, '');
    positions('pos_embed');
    notes.push(...mapVit(t, params, used));
  }
  const ignored = [
    ...unread.map((name) => ({
      name,
      why: /optimizer\./.test(name) ? 'optimizer state' : 'the alignment copy of the encoder',
    })),
    ...outside.map((name) => ({ name, why: 'outside the model state dict' })),
    ...[...t.keys()]
      .filter((n) => !used.has(n))
      .map((name) => ({
        name,
        why: /pos_embed$/.test(name)
          ? 'fixed sin-cos table, rebuilt'
          : /^(alignment_encoder|teacher)\./.test(name)
            ? 'the alignment copy of the encoder'
            : /^(head|fc_norm)\./.test(name)
              ? 'classification head'
              : 'not part of the CAE',
      })),
  ];
  return { layout, params, config, ignored, notes: [...new Set(notes)] };
}
