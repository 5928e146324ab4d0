import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { Manifest, readManifest } from '../../artifacts/manifest';
import { formatShape } from '../../graph-builder/core/shape';
import { EpName } from '../../runtime/execution-providers';
import { auditModel, formatAudit } from '../../runtime/placement/audit';
import { oneOf } from '../options';
import { UserError } from '../run-command';

const PARTS: [string, (name: string) => boolean][] = [
  ['encoder', (n) => n.startsWith('encoder.')],
  ['encoder -> regressor projection', (n) => n.startsWith('encoder_to_regresser')],
  ['regressor', (n) => n.startsWith('regresser.')],
  ['mask token', (n) => n === 'mask_token'],
  ['decoder', (n) => n.startsWith('decoder.')],
  ['fc_norm and head', (n) => n.startsWith('fc_norm.') || n.startsWith('head.')],
];

const count = (shape: readonly (number | string)[]) => shape.reduce<number>((a, d) => a * Number(d), 1);
const millions = (n: number) => `${(n / 1e6).toFixed(2)} M`;
const gflops = (n: number) => `${(n / 1e9).toFixed(2)} GFLOP`;

function fileSize(dir: string, file: string): string {
  const p = path.join(dir, file);
  if (!fs.existsSync(p)) return 'missing';
  const bytes = fs.statSync(p).size + (fs.existsSync(`${p}.data`) ? fs.statSync(`${p}.data`).size : 0);
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** The manifest as a person wants to read it: sizes, parameter counts per part, graphs, FLOPs. */
export function formatManifest(m: Manifest, dir: string): string {
  const c = m.config;
  const trainable = m.params.filter((p) => p.trainable);
  const total = trainable.reduce((s, p) => s + count(p.shape), 0);
  const t = m.task;
  const lines = [
    ...(t
      ? [
          `${c.preset} classifier: ${c.imageSize}x${c.imageSize}x${c.inChans}, patch ${c.patchSize} -> ${m.grid.numPatches} patches; ${t.classes} classes (${t.classNames.slice(0, 10).join(', ')}${t.classes > 10 ? ', ...' : ''})`,
          `encoder ${c.embedDim}d x ${c.depth} blocks, ${c.numHeads} heads, mean-pooled patch tokens -> fc_norm -> head; from ${t.initializedFrom}`,
          `loss soft-target cross-entropy; batch ${c.batch}; drop path ${c.dropPathRate}; layer-wise lr decay ${t.layerDecay}`,
        ]
      : [
          `${c.preset}: ${c.imageSize}x${c.imageSize}x${c.inChans}, patch ${c.patchSize} -> ${m.grid.side}x${m.grid.side} = ${m.grid.numPatches} patches, ${m.grid.numMasked} masked (${c.maskKind})`,
          `encoder ${c.embedDim}d x ${c.depth} blocks, ${c.numHeads} heads; regressor ${c.regressorDepth} / decoder ${c.decoderDepth} blocks at ${c.decoderEmbedDim}d, ${c.decoderNumHeads} heads`,
          `target ${c.target}${c.target === 'tokens' ? ` (vocab ${c.vocabSize}${m.tokenizer ? `, tokenizer ${m.tokenizer.file}` : ''})` : c.normPixLoss ? ' (per-patch normalized)' : ''}; loss = rec + ${c.alignWeight} * align; batch ${c.batch}; drop path ${c.dropPathRate}`,
        ]),
    `optimizer AdamW betas (${m.optimizer.beta1}, ${m.optimizer.beta2}), eps ${m.optimizer.eps}, weight decay ${m.optimizer.weightDecay}, clip ${m.optimizer.clipGradNorm ?? 'off'}`,
    `graphs at ONNX opset ${m.opset ?? 21}; encoder positions ${c.learnedPositions ? 'learned (encoder.pos_embed)' : 'fixed 2-D sin-cos'}`,
    '',
    `trainable parameters: ${total.toLocaleString('en-US')} (${millions(total)})`,
    ...PARTS.flatMap(([label, match]) => {
      const n = trainable.filter((p) => match(p.name)).reduce((s, p) => s + count(p.shape), 0);
      // A classifier has no regressor or decoder; a pretraining model no head.
      const absent = t ? !label.startsWith('encoder') || label.includes('->') : label.includes('head');
      return absent && n === 0 ? [] : [`  ${label.padEnd(32)} ${n.toLocaleString('en-US').padStart(14)}`];
    }),
    '',
    'graphs:',
  ];
  const fileWidth = Math.max(...Object.values(m.graphs).map((g) => g.file.length));
  for (const [name, spec] of Object.entries(m.graphs)) {
    const data = spec.inputs.filter((i) => !m.params.some((p) => p.name === i.name) && !i.name.includes('.'));
    lines.push(
      `  ${name.padEnd(11)} ${spec.file.padEnd(fileWidth)} ${fileSize(dir, spec.file).padStart(10)}`,
    );
    lines.push(
      `    inputs:  ${data.map((i) => `${i.name} ${i.dtype}${formatShape(i.shape)}`).join(', ')}${spec.inputs.length > data.length ? ` + ${spec.inputs.length - data.length} parameter/state tensors` : ''}`,
    );
    const outs = spec.outputs.filter((o) => !o.name.endsWith('.next') && !o.name.startsWith('grad.'));
    lines.push(
      `    outputs: ${outs.map((o) => `${o.name} ${o.dtype}${formatShape(o.shape)}`).join(', ')}${spec.outputs.length > outs.length ? ` + ${spec.outputs.length - outs.length} gradient/state tensors` : ''}`,
    );
  }
  const per = (flops: number) => gflops(flops / c.batch);
  const { eval_step: evalStep, encoder, classifier } = m.graphs;
  lines.push(
    '',
    'matmul FLOPs per image:',
    ...(evalStep ? [`  forward (eval_step)                 ${per(evalStep.matmulFlops)}`] : []),
    `  train step (fwd + bwd${t ? '' : ' + target'})${t ? '         ' : ''}     ${per(m.graphs.train_step.matmulFlops)}`,
    ...(encoder ? [`  deployed encoder, all patches       ${gflops(encoder.matmulFlops)}`] : []),
    ...(classifier ? [`  classifier, one image               ${gflops(classifier.matmulFlops)}`] : []),
    `params.safetensors ${fileSize(dir, 'params.safetensors')}${m.referenceOnly.length > 0 ? ` (${m.referenceOnly.length} extra tensors for strict loading into the PyTorch reference)` : ''}`,
  );
  return lines.join('\n');
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe a build folder: sizes, parameter counts per part, graphs, FLOPs per image')
    .argument('<dir>', 'folder written by cae-onnx build (or a training checkpoint)')
    .option(
      '--ep <name>',
      'also list, per graph, every node that would not run on this execution provider',
      oneOf('cpu', 'cuda', 'dml', 'webgpu'),
    )
    .action(async (dir: string, flags: { ep?: EpName }) => {
      let manifest: Manifest;
      try {
        manifest = readManifest(dir);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      process.stdout.write(`${formatManifest(manifest, dir)}\n`);
      if (!flags.ep) return;
      for (const [name, spec] of Object.entries(manifest.graphs)) {
        const file = path.join(dir, spec.file);
        if (!fs.existsSync(file)) continue;
        process.stdout.write(`\n${name}: ${formatAudit(await auditModel(file, flags.ep))}\n`);
      }
    });
}
