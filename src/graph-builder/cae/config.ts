/** Everything that defines a CAE pretraining model and its training graphs. */
export interface CaeConfig {
  readonly preset: string;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly inChans: number;
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  readonly decoderEmbedDim: number;
  readonly regressorDepth: number;
  readonly decoderDepth: number;
  readonly decoderNumHeads: number;
  readonly mlpRatio: number;
  /** Encoder layer-scale init (gamma_1, gamma_2). */
  readonly layerScaleInit: number;
  /** Regressor and decoder layer-scale init. */
  readonly decoderLayerScaleInit: number;
  readonly eps: number;
  /** Reconstruction target: per-patch pixels, or discrete tokens from an image tokenizer. */
  readonly target: 'pixels' | 'tokens';
  /** Tokenizer vocabulary (decoder head width for token targets). */
  readonly vocabSize: number;
  /** Normalize each pixel target patch by its own mean and (unbiased) variance, as MAE. */
  readonly normPixLoss: boolean;
  /** lambda in loss = rec + lambda * align. */
  readonly alignWeight: number;
  /** Patches masked per image (always exactly this many: static shapes). */
  readonly numMasked: number;
  readonly maskKind: 'block' | 'random';
  /** Maximum drop-path rate (linspace(0, rate, depth) per block); 0 builds graphs without keep inputs. */
  readonly dropPathRate: number;
  /** Images per training step (static). */
  readonly batch: number;
  /**
   * Training precision: fp32, or fp16 mixed precision (matmuls in float16 with float32 master
   * weights and dynamic loss scaling). Deployed encoders are float32 either way.
   */
  readonly precision: Precision;
  /**
   * A learned position table `encoder.pos_embed` [1, 1 + N, D] (with a cls row), as timm's ViTs have,
   * instead of CAE's fixed 2-D sin-cos table; set when importing such weights. Absent: sin-cos.
   */
  readonly learnedPositions?: boolean;
}

export type Precision = 'fp32' | 'fp16';

const BASE = {
  inChans: 3,
  mlpRatio: 4,
  eps: 1e-6,
  target: 'pixels' as const,
  vocabSize: 8192,
  normPixLoss: true,
  alignWeight: 2,
  maskKind: 'block' as const,
  precision: 'fp32' as const,
  dropPathRate: 0.1,
  layerScaleInit: 0.1,
  decoderLayerScaleInit: 0.1,
  regressorDepth: 4,
  decoderDepth: 4,
};

const VIT_224 = { imageSize: 224, patchSize: 16, numMasked: 98 };

/** The presets: small models for MNIST-like data and tests, and the paper's sizes at 224. */
export const PRESETS: Readonly<Record<string, Omit<CaeConfig, 'batch'>>> = {
  'cae-tiny-28': {
    ...BASE,
    preset: 'cae-tiny-28',
    imageSize: 28,
    patchSize: 4,
    inChans: 1,
    numMasked: 24,
    embedDim: 64,
    depth: 4,
    numHeads: 4,
    decoderEmbedDim: 64,
    decoderNumHeads: 4,
    regressorDepth: 2,
    decoderDepth: 2,
    dropPathRate: 0,
  },
  'cae-tiny-32': {
    ...BASE,
    preset: 'cae-tiny-32',
    imageSize: 32,
    patchSize: 4,
    numMasked: 32,
    embedDim: 96,
    depth: 6,
    numHeads: 6,
    decoderEmbedDim: 96,
    decoderNumHeads: 6,
    regressorDepth: 2,
    decoderDepth: 2,
    dropPathRate: 0,
  },
  'cae-small': {
    ...BASE,
    ...VIT_224,
    preset: 'cae-small',
    embedDim: 384,
    depth: 12,
    numHeads: 12,
    decoderEmbedDim: 384,
    decoderNumHeads: 12,
  },
  'cae-base': {
    ...BASE,
    ...VIT_224,
    preset: 'cae-base',
    embedDim: 768,
    depth: 12,
    numHeads: 12,
    decoderEmbedDim: 768,
    decoderNumHeads: 12,
  },
  'cae-large': {
    ...BASE,
    ...VIT_224,
    preset: 'cae-large',
    embedDim: 1024,
    depth: 24,
    numHeads: 16,
    decoderEmbedDim: 1024,
    decoderNumHeads: 16,
    layerScaleInit: 1e-5,
    decoderLayerScaleInit: 1e-5,
  },
};

export const DEFAULT_BATCH: Readonly<Record<string, number>> = {
  'cae-tiny-28': 64,
  'cae-tiny-32': 64,
  'cae-small': 16,
  'cae-base': 8,
  'cae-large': 4,
};

/** Derived sizes. */
export function gridOf(c: CaeConfig): {
  side: number;
  numPatches: number;
  numVisible: number;
  patchDim: number;
} {
  const side = c.imageSize / c.patchSize;
  const numPatches = side * side;
  return {
    side,
    numPatches,
    numVisible: numPatches - c.numMasked,
    patchDim: c.patchSize * c.patchSize * c.inChans,
  };
}

/** A preset with overrides applied and checked; throws an Error naming the bad field. */
export function resolveConfig(preset: string, overrides: Partial<CaeConfig> = {}): CaeConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown preset '${preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
  const c: CaeConfig = { ...base, batch: DEFAULT_BATCH[preset] ?? 8, ...overrides, preset };
  validateConfig(c);
  return c;
}

export function validateConfig(c: CaeConfig): void {
  const positiveInt = (k: keyof CaeConfig) => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new Error(`${k} must be a positive integer, got ${v}`);
  };
  for (const k of [
    'imageSize',
    'patchSize',
    'inChans',
    'embedDim',
    'depth',
    'numHeads',
    'decoderEmbedDim',
  ] as const) {
    positiveInt(k);
  }
  for (const k of ['regressorDepth', 'decoderDepth', 'decoderNumHeads', 'batch', 'vocabSize'] as const)
    positiveInt(k);
  if (c.imageSize % c.patchSize !== 0)
    throw new Error(`imageSize ${c.imageSize} is not a multiple of patchSize ${c.patchSize}`);
  if (c.embedDim % c.numHeads !== 0)
    throw new Error(`embedDim ${c.embedDim} is not divisible by numHeads ${c.numHeads}`);
  if (c.decoderEmbedDim % c.decoderNumHeads !== 0) {
    throw new Error(
      `decoderEmbedDim ${c.decoderEmbedDim} is not divisible by decoderNumHeads ${c.decoderNumHeads}`,
    );
  }
  if (c.embedDim % 4 !== 0 || c.decoderEmbedDim % 4 !== 0)
    throw new Error('embedding dims must be multiples of 4 (2-D sin-cos positions)');
  const { numPatches } = gridOf(c);
  if (!Number.isInteger(c.numMasked) || c.numMasked < 1 || c.numMasked >= numPatches) {
    throw new Error(`numMasked must be an integer in [1, ${numPatches - 1}], got ${c.numMasked}`);
  }
  if (!(c.dropPathRate >= 0 && c.dropPathRate < 1))
    throw new Error(`dropPathRate must be in [0, 1), got ${c.dropPathRate}`);
  if (!(c.alignWeight >= 0)) throw new Error(`alignWeight must be >= 0, got ${c.alignWeight}`);
  if (!(c.mlpRatio > 0)) throw new Error(`mlpRatio must be > 0, got ${c.mlpRatio}`);
  if (c.target !== 'pixels' && c.target !== 'tokens')
    throw new Error(`target must be pixels or tokens, got ${c.target}`);
  if (c.precision !== 'fp32' && c.precision !== 'fp16') {
    const why =
      c.precision === 'bf16'
        ? ': onnxruntime has no bfloat16 kernels on the CPU and WebGPU execution providers, use fp16'
        : '';
    throw new Error(`precision must be fp32 or fp16, got ${String(c.precision)}${why}`);
  }
  if (c.maskKind !== 'block' && c.maskKind !== 'random')
    throw new Error(`maskKind must be block or random, got ${c.maskKind}`);
}
