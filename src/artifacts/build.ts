import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Graph } from '../graph-builder/core/graph';
import type { TensorData } from '../graph-builder/core/tensor-data';
import { BuildPlanOptions, graphModel, PARAMS_FILE, planBuild } from './build-plan';
import { GraphSpec, Manifest, MANIFEST_FILE, writeManifest } from './manifest';
import { writeModelFile } from './onnx-file';
import { writeSafetensors } from './safetensors';

export { defaultNormalization, GRAPH_FILES, PARAMS_FILE } from './build-plan';

export interface BuildOptions extends BuildPlanOptions {
  readonly outDir: string;
  /** Replace an existing build in outDir. */
  readonly force?: boolean;
}

/** Writes one graph as an ONNX model into dir (parameters as inputs, or initializers when given). */
export function writeGraph(
  dir: string,
  file: string,
  graph: Graph,
  opset: number,
  params?: ReadonlyMap<string, TensorData>,
  metadata?: Record<string, string>,
): GraphSpec {
  const { model, spec } = graphModel(file, graph, opset, params, metadata);
  writeModelFile(path.join(dir, file), model);
  return spec;
}

/**
 * Writes everything a training run needs into outDir: the three step graphs, the deployment encoder
 * with initial weights, params.safetensors (reference names) and, last, manifest.json, whose presence
 * marks a complete build.
 */
export function buildArtifacts(o: BuildOptions): Manifest {
  const log = o.log ?? (() => undefined);
  if (fs.existsSync(path.join(o.outDir, MANIFEST_FILE)) && !o.force) {
    throw new Error(`${o.outDir} already holds a build (pass --force to replace it)`);
  }
  const plan = planBuild(o);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.rmSync(path.join(o.outDir, MANIFEST_FILE), { force: true });
  for (const [file, model] of plan.models) writeModelFile(path.join(o.outDir, file), model);
  log(`writing ${PARAMS_FILE}`);
  writeSafetensors(path.join(o.outDir, PARAMS_FILE), plan.paramsFile.tensors, plan.paramsFile.metadata);
  writeManifest(o.outDir, plan.manifest);
  return plan.manifest;
}
