/** Pooling gradients, through the pool gradient ops (src/ir/ops/pool-grad.ts). */
import type { Attrs } from '../../ir/types.js';
import type { GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { dyOf, gradRule } from './expr.js';

const poolAttrs = (a: Attrs): Attrs => ({ poolSize: a.poolSize, strides: a.strides, padding: a.padding });

/** maxPool2d: each window's dy goes to its first maximum. */
export const maxPoolGrad: GradientRule = gradRule((e, ctx) => [e.op('maxPool2dGrad', [ctx.inputs[0], dyOf(ctx)], poolAttrs(ctx.attrs))]);

/** avgPool2d: each window's dy is shared by its valid (unpadded) elements. */
export const avgPoolGrad: GradientRule = gradRule((e, ctx) => {
  const [, h, w] = e.shape(ctx.inputs[0]);
  if (h === null || w === null) throw new GraphError(`gradient of '${ctx.node.name}' (avgPool2d): the input size must be known`, { node: ctx.node.name });
  return [e.op('avgPool2dGrad', [dyOf(ctx)], { ...poolAttrs(ctx.attrs), inputSize: [h, w] })];
});

/** avgPool2dGrad is linear and its transpose is avgPool2d itself. */
export const avgPoolGradGrad: GradientRule = gradRule((e, ctx) => [e.op('avgPool2d', [dyOf(ctx)], poolAttrs(ctx.attrs))]);

/**
 * maxPool2dGrad: zero in x almost everywhere, but its gradient in dy reads g at each window's first
 * maximum, which no op expresses; second derivatives through max pooling are rejected.
 */
export const maxPoolGradGrad: GradientRule = (ctx) => {
  throw new GraphError(`autodiff: second derivatives through max pooling are not supported (node '${ctx.node.name}', maxPool2dGrad)`, { node: ctx.node.name, op: ctx.node.op });
};
