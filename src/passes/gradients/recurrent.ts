/** rnnSequence's gradient: one rnnSequenceGrad node runs backpropagation through time for the whole sequence. */
import type { GradientRule } from '../../ir/registry.js';
import type { ValueRef } from '../../ir/types.js';
import { GraphError } from '../../ir/errors.js';
import { rnnLayout } from '../../ir/ops/recurrent.js';
import { differentiableInputs } from '../../ir/ops/recurrent-grad.js';

/**
 * The gradients of the sequence (or last output) and of the final states that reach the loss go in
 * as inputs; out come the gradients of x, the kernels, the bias and the initial states. The mask,
 * the training flag and the step get none.
 */
export const rnnSequenceGrad: GradientRule = (ctx) => {
  const [dy, dh, dc] = ctx.grads;
  if (!dy && !dh && !dc) return ctx.inputs.map(() => null);
  const L = rnnLayout(ctx.attrs, ctx.inputs.length);
  const given = [dy, dh, dc ?? null].filter((g): g is ValueRef => !!g);
  // `record` is the forward's own (recordRecurrentStates sets it, and `recorded` here, after autodiff).
  const { record: _record, ...forward } = ctx.attrs;
  const attrs = { ...forward, hasDy: !!dy, hasDh: !!dh, hasDc: !!dc };
  const outs = ctx.emit('rnnSequenceGrad', [...ctx.inputs, ...given], attrs);
  const result: (ValueRef | null)[] = ctx.inputs.map(() => null);
  differentiableInputs(L).forEach((input, i) => (result[input] = outs[i]));
  return result;
};

/** Second-order gradients through time are not built: asking for one names the node. */
export const rnnSequenceGradGrad: GradientRule = (ctx) => {
  throw new GraphError(`autodiff: node '${ctx.node.name}' (rnnSequenceGrad) has no gradient: second-order gradients through recurrent layers are not supported`, { node: ctx.node.name, op: 'rnnSequenceGrad' });
};
