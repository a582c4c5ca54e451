/** batchNorm's gradient, in either learning phase, through the normalized input x̂. */
import type { ValueRef } from '../../ir/types.js';
import type { GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { normalizeAxis } from '../../ir/ops/common.js';
import { gradRule, type Ops } from './expr.js';

/**
 * With r = 1/√(var + ε) and x̂ = (x − mean)·r for the statistics the forward used (batch statistics
 * while training, moving ones otherwise): dβ = Σ dy, dγ = Σ dy·x̂, and
 * dx = γ·r·(dy − t·(mean(dy) + x̂·mean(dy·x̂))), t = 1 while training (the batch statistics depend on
 * x) and 0 otherwise. The moving statistics get no gradient, and gradients reaching the new moving
 * statistics outputs are ignored: they are state, not part of the loss.
 */
export const batchNormGrad: GradientRule = gradRule((e: Ops, ctx) => {
  const dy = ctx.grads[0];
  if (!dy) return ctx.inputs.map(() => null);
  const [x, gamma, , movingMean, movingVar, training] = ctx.inputs;
  const shape = e.shape(x);
  const axis = normalizeAxis('batchNorm', ctx.attrs.axis as number, shape);
  const axes = shape.map((_, i) => i).filter((i) => i !== axis);
  // A channel vector shaped to broadcast along `axis`.
  const channels = (v: ValueRef) => e.reshape(v, shape.map((d, i) => (i === axis ? d : 1)));
  const isTraining = e.reshape(training, []);
  const batchMean = e.mean(x, axes, true);
  const batchVar = e.mean(e.f('square', e.sub(x, batchMean)), axes, true);
  const mean = e.where(isTraining, batchMean, channels(movingMean));
  const variance = e.where(isTraining, batchVar, channels(movingVar));
  const r = e.f('rsqrt', e.add(variance, ctx.attrs.epsilon as number));
  const xHat = e.mul(e.sub(x, mean), r);
  const dyXHat = e.mul(dy, xHat);
  const t = e.op('cast', [isTraining], { dtype: e.type(x).dtype });
  const centered = e.sub(dy, e.mul(t, e.add(e.mean(dy, axes, true), e.mul(xHat, e.mean(dyXHat, axes, true)))));
  const dx = e.mul(e.mul(channels(gamma), r), centered);
  return [dx, e.sum(dyXHat, axes, false), e.sum(dy, axes, false), null, null, null];
});

/**
 * batchNormTraining's gradient: one batchNormTrainingGrad node over the forward's batch statistics
 * (the same formula as above with t = 1), which the GPU runs as one reduction and one elementwise pass.
 * The batch mean and variance outputs feed only the moving statistics, state outside the loss.
 */
export const batchNormTrainingGrad: GradientRule = gradRule((e: Ops, ctx) => {
  const dy = ctx.grads[0];
  if (!dy) return ctx.inputs.map(() => null);
  const [x, gamma] = ctx.inputs;
  const [y, mean, variance] = ctx.outputs;
  // A fused relu passes dy where y > 0, as relu's own rule does (y > 0 ⟺ its input > 0).
  const dyNorm = ctx.attrs.activation === 'relu' ? e.op('reluGrad', [dy, y]) : dy;
  const [dx, dGamma, dBeta] = ctx.emit('batchNormTrainingGrad', [x, gamma, mean, variance, dyNorm], { axis: ctx.attrs.axis, epsilon: ctx.attrs.epsilon });
  // A side input (a residual added before the activation) gets the activation's gradient as it is.
  return ctx.inputs.length === 4 ? [dx, dGamma, dBeta, dyNorm] : [dx, dGamma, dBeta];
});

/** Second derivatives through a training batch norm are not written yet. */
export const batchNormTrainingGradGrad: GradientRule = (ctx) => {
  throw new GraphError(`autodiff: second derivatives through batch normalization in training are not supported (node '${ctx.node.name}', batchNormTrainingGrad)`, { node: ctx.node.name, op: ctx.node.op });
};
