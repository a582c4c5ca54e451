/** layerNorm's gradient: one layerNormGrad node, which a kernel runs row by row. */
import type { GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { dyOf } from './expr.js';

/**
 * With r = 1/√(var + ε), x̂ = (x − mean)·r over the normalized axes and g = dy·γ (docs/ops.md,
 * layerNormGrad): dx = r·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ dy·x̂ and dβ = Σ dy over the kept axes.
 */
export const layerNormGrad: GradientRule = (ctx) => {
  const [x, gamma] = ctx.inputs;
  return ctx.emit('layerNormGrad', [x, gamma, dyOf(ctx)], { axes: ctx.attrs.axes, epsilon: ctx.attrs.epsilon });
};

/** Second derivatives through layer normalization are not written yet. */
export const layerNormGradGrad: GradientRule = (ctx) => {
  throw new GraphError(`autodiff: second derivatives through layer normalization are not supported (node '${ctx.node.name}', layerNormGrad)`, { node: ctx.node.name, op: ctx.node.op });
};
