/** attention's gradient: one attentionGrad node, whose kernels recompute the probabilities instead of storing them. */
import type { GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { dyOf } from './expr.js';

/**
 * With S = (q·scale)·kᵀ (masked scores −1e9), P = softmax(S) and O = P·v per batch and head
 * (docs/ops.md, attentionGrad): dv = Pᵀ·dO, dS = P·(dP − Σ dP·P) at unmasked scores (0 at masked
 * ones) with dP = dO·vᵀ, dq = scale·dS·k, dk = scale·dSᵀ·q. The mask gets none.
 */
export const attentionGrad: GradientRule = (ctx) => {
  const [q, k, v, mask] = ctx.inputs;
  const grads = ctx.emit('attentionGrad', [q, k, v, dyOf(ctx), ...(mask ? [mask] : [])], { scale: ctx.attrs.scale, causal: ctx.attrs.causal });
  return [...grads, ...(mask ? [null] : [])];
};

/** Second derivatives through attention are not written yet. */
export const attentionGradGrad: GradientRule = (ctx) => {
  throw new GraphError(`autodiff: second derivatives through attention are not supported (node '${ctx.node.name}', attentionGrad)`, { node: ctx.node.name, op: ctx.node.op });
};
