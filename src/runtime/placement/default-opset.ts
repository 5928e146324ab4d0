import { DEFAULT_OPSET } from '../../graph-builder/onnx/to-model-proto';
import type { EpName } from '../execution-providers';

/**
 * The opset each provider's builds get unless --opset says otherwise: the newest at which every
 * compute node of every graph we emit has a kernel there. CPU and WebGPU are checked live
 * (tests/placement/webgpu-placement.test.ts); CUDA and DirectML against their kernel tables
 * (tests/placement/kernel-tables.test.ts): the CUDA table has no Gelu kernel, so 19, where Gelu is
 * written in its Erf form.
 */
export const DEFAULT_OPSET_FOR_EP: Readonly<Record<EpName, number>> = {
  cpu: DEFAULT_OPSET,
  webgpu: DEFAULT_OPSET,
  cuda: 19,
  dml: 19,
};
