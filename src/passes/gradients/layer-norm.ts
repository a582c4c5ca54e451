/** layerNorm's gradient through the normalized input x̂. */
import type { ValueRef } from '../../ir/types.js';
import type { GradientRule } from '../../ir/registry.js';
import { layerNormAxes } from '../../ir/ops/layer-norm.js';
import { dyOf, gradRule, type Ops } from './expr.js';

/**
 * With r = 1/√(var + ε), x̂ = (x − mean)·r over the normalized axes and g = dy·γ:
 * dx = r·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ dy·x̂ and dβ = Σ dy over the kept axes.
 */
export const layerNormGrad: GradientRule = gradRule((e: Ops, ctx) => {
  const dy = dyOf(ctx);
  const [x, gamma] = ctx.inputs;
  const shape = e.shape(x);
  const axes = layerNormAxes(shape, ctx.attrs);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  // Gamma and beta are the normalized dims in axis order, so a reshape with 1s elsewhere broadcasts them.
  const spread = (v: ValueRef) => e.reshape(v, shape.map((d, i) => (axes.includes(i) ? d : 1)));
  const paramShape = e.shape(gamma);
  // reduceSum over no axes would sum everything, so "over the kept axes" with none kept is the value itself.
  const overKept = (v: ValueRef) => e.reshape(kept.length ? e.sum(v, kept, false) : v, paramShape);
  const mean = e.mean(x, axes, true);
  const centered = e.sub(x, mean);
  const r = e.f('rsqrt', e.add(e.mean(e.f('square', centered), axes, true), ctx.attrs.epsilon as number));
  const xHat = e.mul(centered, r);
  const g = e.mul(dy, spread(gamma));
  const dx = e.mul(r, e.sub(e.sub(g, e.mean(g, axes, true)), e.mul(xHat, e.mean(e.mul(g, xHat), axes, true))));
  return [dx, overKept(e.mul(dy, xHat)), overKept(dy)];
});
