import * as fs from 'node:fs';
import { Command } from 'commander';
import { buildArtifacts } from '../../artifacts/build';
import { copyTokenizer, inspectTokenizer } from '../../artifacts/tokenizer';
import { CaeConfig, PRESETS, resolveConfig } from '../../graph-builder/cae/config';
import { SUPPORTED_OPSETS } from '../../graph-builder/onnx/to-model-proto';
import { ADAMW_DEFAULTS } from '../../graph-builder/optim/adamw';
import { DEFAULT_CLIP_GRAD_NORM } from '../../graph-builder/optim/clip-grad-norm';
import type { EpName } from '../../runtime/execution-providers';
import { DEFAULT_OPSET_FOR_EP } from '../../runtime/placement/default-opset';
import { nonNegativeInt, nonNegativeNumber, numberIn, oneOf, positiveInt, positiveNumber } from '../options';
import { UserError } from '../run-command';
import { formatManifest } from './info';

interface BuildFlags {
  preset: string;
  out: string;
  config?: string;
  target?: 'pixels' | 'tokens';
  tokenizer?: string;
  batch?: number;
  imageSize?: number;
  patchSize?: number;
  inChans?: number;
  embedDim?: number;
  depth?: number;
  heads?: number;
  decoderDim?: number;
  decoderHeads?: number;
  regressorDepth?: number;
  decoderDepth?: number;
  maskCount?: number;
  maskKind?: 'block' | 'random';
  dropPath?: number;
  precision?: string;
  alignWeight?: number;
  normPix: boolean;
  vocabSize?: number;
  layerScale?: number;
  seed: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  clipGrad: number;
  opset?: number;
  ep: EpName;
  force?: boolean;
}

/** Overrides from a JSON file (CaeConfig keys) and then from flags, flags winning. */
function overridesOf(flags: BuildFlags): Partial<CaeConfig> {
  let fromFile: Partial<CaeConfig> = {};
  if (flags.config) {
    if (!fs.existsSync(flags.config)) throw new UserError(`no such config file: ${flags.config}`);
    try {
      fromFile = JSON.parse(fs.readFileSync(flags.config, 'utf8')) as Partial<CaeConfig>;
    } catch (e) {
      throw new UserError(`${flags.config} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const fromFlags: Partial<Record<keyof CaeConfig, unknown>> = {
    target: flags.target,
    batch: flags.batch,
    imageSize: flags.imageSize,
    patchSize: flags.patchSize,
    inChans: flags.inChans,
    embedDim: flags.embedDim,
    depth: flags.depth,
    numHeads: flags.heads,
    decoderEmbedDim: flags.decoderDim,
    decoderNumHeads: flags.decoderHeads,
    regressorDepth: flags.regressorDepth,
    decoderDepth: flags.decoderDepth,
    numMasked: flags.maskCount,
    maskKind: flags.maskKind,
    dropPathRate: flags.dropPath,
    precision: flags.precision,
    alignWeight: flags.alignWeight,
    normPixLoss: flags.normPix === false ? false : undefined,
    vocabSize: flags.vocabSize,
    layerScaleInit: flags.layerScale,
  };
  const defined = Object.fromEntries(Object.entries(fromFlags).filter(([, v]) => v !== undefined));
  return { ...fromFile, ...defined } as Partial<CaeConfig>;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('write the CAE training graphs, encoder.onnx, initial params.safetensors and manifest.json')
    .requiredOption('--out <dir>', 'output folder')
    .option('--preset <name>', `model preset (${Object.keys(PRESETS).join(', ')})`, 'cae-tiny-28')
    .option('--config <file.json>', 'JSON with config overrides (CaeConfig keys, e.g. {"embedDim": 128})')
    .option('--target <kind>', 'reconstruction target: pixels or tokens', oneOf('pixels', 'tokens'))
    .option('--tokenizer <file.onnx>', 'image tokenizer for token targets (image -> [B, vocab, h, w] logits)')
    .option('--batch <n>', 'images per step (static)', positiveInt)
    .option('--image-size <n>', 'input resolution', positiveInt)
    .option('--patch-size <n>', 'patch size', positiveInt)
    .option('--in-chans <n>', 'image channels', positiveInt)
    .option('--embed-dim <n>', 'encoder width', positiveInt)
    .option('--depth <n>', 'encoder blocks', positiveInt)
    .option('--heads <n>', 'encoder attention heads', positiveInt)
    .option('--decoder-dim <n>', 'regressor/decoder width', positiveInt)
    .option('--decoder-heads <n>', 'regressor/decoder heads', positiveInt)
    .option('--regressor-depth <n>', 'regressor blocks', positiveInt)
    .option('--decoder-depth <n>', 'decoder blocks', positiveInt)
    .option('--mask-count <n>', 'patches masked per image', positiveInt)
    .option('--mask-kind <kind>', 'block or random masking', oneOf('block', 'random'))
    .option('--drop-path <rate>', 'maximum drop-path rate (0 disables)', numberIn(0, 1, { openMax: true }))
    .option(
      '--precision <p>',
      'training precision: fp32, or fp16 (float16 matmuls, float32 master weights, dynamic loss scaling)',
    )
    .option('--align-weight <lambda>', 'weight of the alignment loss', nonNegativeNumber)
    .option('--no-norm-pix', 'do not normalize pixel targets per patch')
    .option('--vocab-size <n>', 'token vocabulary (token targets without --tokenizer)', positiveInt)
    .option('--layer-scale <init>', 'encoder layer-scale init', positiveNumber)
    .option('--seed <n>', 'initialization seed', nonNegativeInt, 0)
    .option('--weight-decay <wd>', 'AdamW weight decay', nonNegativeNumber, ADAMW_DEFAULTS.weightDecay)
    .option('--beta1 <b>', 'AdamW beta1', numberIn(0, 1, { openMax: true }), ADAMW_DEFAULTS.beta1)
    .option('--beta2 <b>', 'AdamW beta2', numberIn(0, 1, { openMax: true }), ADAMW_DEFAULTS.beta2)
    .option('--eps <eps>', 'AdamW eps', positiveNumber, ADAMW_DEFAULTS.eps)
    .option(
      '--clip-grad <norm>',
      'global gradient-norm clipping (0: off)',
      nonNegativeNumber,
      DEFAULT_CLIP_GRAD_NORM,
    )
    .option(
      '--ep <name>',
      'execution provider the build is for: picks the default --opset (cpu, webgpu: 21; cuda, dml: 19)',
      oneOf('cpu', 'cuda', 'dml', 'webgpu'),
      'cpu',
    )
    .option(
      `--opset <n>`,
      `ONNX opset of the graphs (${SUPPORTED_OPSETS.join(', ')}; default: per --ep)`,
      positiveInt,
    )
    .option('--force', 'replace an existing build in --out')
    .action((flags: BuildFlags) => {
      let config: CaeConfig;
      try {
        config = resolveConfig(flags.preset, overridesOf(flags));
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError((e as Error).message);
      }
      let tokenizer;
      if (flags.tokenizer) {
        try {
          tokenizer = inspectTokenizer(flags.tokenizer, config);
        } catch (e) {
          throw new UserError((e as Error).message);
        }
        config = { ...config, target: 'tokens', vocabSize: tokenizer.vocabSize };
      }
      const started = Date.now();
      let manifest;
      try {
        manifest = buildArtifacts({
          outDir: flags.out,
          config,
          seed: flags.seed,
          optimizer: {
            weightDecay: flags.weightDecay,
            beta1: flags.beta1,
            beta2: flags.beta2,
            eps: flags.eps,
            clipGradNorm: flags.clipGrad > 0 ? flags.clipGrad : undefined,
          },
          tokenizer,
          opset: flags.opset ?? DEFAULT_OPSET_FOR_EP[flags.ep],
          force: flags.force,
          log: (m) => process.stderr.write(`  ${m}\n`),
        });
      } catch (e) {
        if (e instanceof Error && /already holds a build|opset .* is not supported/.test(e.message))
          throw new UserError(e.message);
        throw e;
      }
      if (flags.tokenizer) copyTokenizer(flags.tokenizer, flags.out);
      process.stdout.write(
        `${formatManifest(manifest, flags.out)}\nbuilt in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });
}
