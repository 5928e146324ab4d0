/**
 * Layer-wise learning-rate decay for fine-tuning ViTs (BEiT's `get_layer_id_for_vit`, used by the CAE
 * reference's fine-tuning): layer 0 is the patch embedding, cls/mask tokens and position tables;
 * block i is layer i + 1; everything after the blocks (final norm, fc_norm, head) is layer depth + 1.
 * A parameter's lr is base x decay^(depth + 1 - layer).
 */
export function layerId(name: string, depth: number): number {
  const leaf = name.split('.');
  if (leaf.some((part) => part === 'cls_token' || part === 'mask_token' || part === 'pos_embed')) return 0;
  if (leaf.includes('patch_embed')) return 0;
  const block = /(?:^|\.)blocks\.(\d+)\./.exec(name);
  if (block) return Number(block[1]) + 1;
  return depth + 1;
}

/** The lr multiplier of a parameter under layer decay `decay` for an encoder of `depth` blocks. */
export function layerDecayScale(name: string, depth: number, decay: number): number {
  return decay ** (depth + 1 - layerId(name, depth));
}
