/** The differentiation and optimizer options a compiled config asks for: loss scaling in mixed precision. */
import { autodiff } from '../passes/autodiff.js';
import { addLossScale, lossScaleNames, LOSS_SCALE_DEFAULTS, type LossScaleOptions } from '../passes/loss-scale.js';
import type { Program } from '../passes/program.js';
import type { CompiledConfig } from './config.js';

/** Mixed precision scales the loss dynamically, as Keras wraps a `mixed_float16` model's optimizer in a LossScaleOptimizer. */
export const lossScaleOf = (config: CompiledConfig): LossScaleOptions | undefined =>
  config.precision === 'mixed' ? { growthSteps: LOSS_SCALE_DEFAULTS.growthSteps } : undefined;

/** Differentiates the `loss` output by the trainable weights, from the loss scale where the config has one. */
export function differentiateLoss(program: Program, config: CompiledConfig, wrt: readonly string[]): Program {
  if (!lossScaleOf(config)) return autodiff(program, { loss: 'loss', wrt });
  return autodiff(addLossScale(program), { loss: 'loss', wrt, seed: lossScaleNames().scale });
}
