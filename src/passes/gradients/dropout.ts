/** dropout's gradient: the same mask again, applied to dy. */
import type { GradientRule } from '../../ir/registry.js';
import { dyOf, gradRule } from './expr.js';

/**
 * The mask is a pure function of (seed, element index) and the learning phase (docs/ops.md), so
 * dropout run on dy with the same attrs and the same non-data inputs (training flag, and a step
 * counter where one is given) drops and scales exactly the elements the forward did.
 */
export const dropoutGrad: GradientRule = gradRule((e, ctx) => {
  const [, ...rest] = ctx.inputs;
  return [e.op('dropout', [dyOf(ctx), ...rest], ctx.attrs), ...rest.map(() => null)];
});
