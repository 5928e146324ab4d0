import type { GradRule } from '../grad-rule';
import { CONV_RULES } from './conv';
import { ELEMENTWISE_RULES } from './elementwise';
import { INDEXING_RULES } from './indexing';
import { MATMUL_RULES } from './matmul';
import { NORMALIZATION_RULES } from './normalization';
import { REDUCE_RULES } from './reduce';
import { SHAPE_RULES } from './shape';

/** The gradient table: one rule per op type (see grad-rule.ts for what a rule returns). */
export const GRAD_RULES: ReadonlyMap<string, GradRule> = new Map(
  Object.entries({
    ...ELEMENTWISE_RULES,
    ...MATMUL_RULES,
    ...NORMALIZATION_RULES,
    ...SHAPE_RULES,
    ...INDEXING_RULES,
    ...REDUCE_RULES,
    ...CONV_RULES,
    StopGradient: { zero: 'stop-gradient' },
  }),
);
