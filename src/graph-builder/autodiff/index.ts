export { grad, NoGradientRuleError } from './grad';
export { stopGradient, StopGradient } from './stop-gradient';
export { GRAD_RULES } from './rules';
export type { GradRule, GradContext } from './grad-rule';
