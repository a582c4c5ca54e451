/** The differentiation and optimizer options a compiled precision asks for: loss scaling in mixed precision. */
import type { Precision } from '../codegen/profile.js';
import { autodiff } from '../passes/autodiff.js';
import { addLossScale, lossScaleNames, LOSS_SCALE_DEFAULTS, type LossScaleOptions } from '../passes/loss-scale.js';
import type { Program } from '../passes/program.js';

/** Mixed precision scales the loss dynamically, as Keras wraps a `mixed_float16` model's optimizer in a LossScaleOptimizer. */
export const lossScaleOf = (config: { readonly precision: Precision }): LossScaleOptions | undefined =>
  config.precision === 'mixed' ? { growthSteps: LOSS_SCALE_DEFAULTS.growthSteps } : undefined;

/**
 * Differentiates the output `loss` (default 'loss') by `wrt`, from the loss scale of the optimizer with
 * state prefix `prefix` where the precision asks for one.
 */
export function differentiateLoss(program: Program, config: { readonly precision: Precision }, wrt: readonly string[], options: { loss?: string; prefix?: string } = {}): Program {
  const loss = options.loss ?? 'loss';
  if (!lossScaleOf(config)) return autodiff(program, { loss, wrt });
  return autodiff(addLossScale(program, { prefix: options.prefix }), { loss, wrt, seed: lossScaleNames(options.prefix).scale });
}
