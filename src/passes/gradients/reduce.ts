/** Gradients of the reductions and the softmax family. */
import type { Attrs, ValueRef } from '../../ir/types.js';
import type { GradientRule } from '../../ir/registry.js';
import { normalizeAxis } from '../../ir/ops/common.js';
import { dyOf, gradRule, keptShape, reductionAxes, type Ops } from './expr.js';

/**
 * A reduction's output (or its gradient) with the reduced dims back as 1s, so it broadcasts against
 * the input. Reducing leading axes needs no reshape: right-aligned broadcasting already lines up.
 */
function expand(e: Ops, v: ValueRef, x: ValueRef, axes: readonly number[], attrs: Attrs): ValueRef {
  if (attrs.keepDims === true || axes.every((a, i) => a === i)) return v;
  return e.reshape(v, keptShape(e.shape(x), axes));
}

/** What a reduction row sees: the input, its reduced axes, and output and gradient expanded to broadcast. */
interface ReduceValues {
  readonly x: ValueRef;
  readonly axes: readonly number[];
  readonly y: ValueRef;
  readonly dy: ValueRef;
}

/** dx for each reduction, from expanded y and dy. */
const REDUCE_GRADS: Readonly<Record<string, (e: Ops, v: ReduceValues) => ValueRef>> = {
  reduceSum: (e, { x, dy }) => e.broadcastLike(dy, x),
  reduceMean: (e, { x, axes, dy }) => e.broadcastLike(e.div(dy, e.count(x, axes)), x),
  // dy is shared evenly among tied extrema (TF's rule), so the gradient still sums to dy.
  reduceMax: (e, v) => extremum(e, v),
  reduceMin: (e, v) => extremum(e, v),
  // The product of the others, exact with zeros: one zero gets the product of the non-zeros, two or more give 0 everywhere.
  reduceProd: (e, { x, axes, dy }) => {
    const isZero = e.cmp('equal', x, 0);
    const zeros = e.sum(e.op('cast', [isZero], { dtype: e.type(x).dtype }), axes, true);
    const nonZero = e.where(isZero, 1, x);
    const product = e.op('reduceProd', [nonZero], { axes: [...axes], keepDims: true });
    const atNonZero = e.where(e.cmp('equal', zeros, 0), e.div(product, nonZero), 0);
    const atZero = e.where(e.cmp('equal', zeros, 1), product, 0);
    return e.mul(dy, e.where(isZero, atZero, atNonZero));
  },
};

function extremum(e: Ops, { x, axes, y, dy }: ReduceValues): ValueRef {
  const mask = e.op('cast', [e.cmp('equal', x, y)], { dtype: e.type(x).dtype });
  return e.div(e.mul(mask, dy), e.sum(mask, axes, true));
}

/** The rule of one reduction op. */
function reduceRule(op: string): GradientRule {
  return gradRule((e, ctx) => {
    const x = ctx.inputs[0];
    const axes = reductionAxes(ctx.attrs, e.shape(x));
    const y = expand(e, ctx.outputs[0], x, axes, ctx.attrs);
    const dy = expand(e, dyOf(ctx), x, axes, ctx.attrs);
    return [REDUCE_GRADS[op](e, { x, axes, y, dy })];
  });
}

/** Rules for the five reductions, by op name. */
export const REDUCTION_GRADS: Readonly<Record<string, GradientRule>> = Object.fromEntries(Object.keys(REDUCE_GRADS).map((op) => [op, reduceRule(op)]));

/** softmax: dx = y·(dy − Σ dy·y) along the axis. */
export const softmaxGrad: GradientRule = gradRule((e, ctx) => {
  const y = ctx.outputs[0];
  const dy = dyOf(ctx);
  const axis = normalizeAxis('softmax', ctx.attrs.axis as number, e.shape(y));
  return [e.mul(y, e.sub(dy, e.sum(e.mul(dy, y), [axis], true)))];
});

/** logSoftmax: dx = dy − softmax·Σ dy along the axis, with softmax = exp(y). */
export const logSoftmaxGrad: GradientRule = gradRule((e, ctx) => {
  const y = ctx.outputs[0];
  const dy = dyOf(ctx);
  const axis = normalizeAxis('logSoftmax', ctx.attrs.axis as number, e.shape(y));
  return [e.sub(dy, e.mul(e.f('exp', y), e.sum(dy, [axis], true)))];
});
