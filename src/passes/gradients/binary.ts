/** Gradients of the broadcasting binary table, `where` and `cast`: each result is summed back to its input's shape. */
import type { ValueRef } from '../../ir/types.js';
import type { GradientRule } from '../../ir/registry.js';
import { isFloat } from '../../ir/ops/common.js';
import { dyOf, gradRule, unbroadcast, type Ops } from './expr.js';

/** What a binary row sees: both inputs, the output and its gradient (all shaped like the output but a, b). */
export interface BinaryValues {
  readonly a: ValueRef;
  readonly b: ValueRef;
  readonly y: ValueRef;
  readonly dy: ValueRef;
}

/** [da, db] before unbroadcasting, shaped like the broadcast output. */
export type BinaryGrad = (e: Ops, v: BinaryValues) => [ValueRef, ValueRef];

/** One row per arithmetic op of the binary table; comparisons and logical ops have none (see GRADIENTS). */
export const BINARY_GRADS: Readonly<Record<string, BinaryGrad>> = {
  add: (_, { dy }) => [dy, dy],
  sub: (e, { dy }) => [dy, e.f('neg', dy)],
  mul: (e, { a, b, dy }) => [e.mul(dy, b), e.mul(dy, a)],
  // d(a/b)/db = −a/b² = −y/b
  div: (e, { b, y, dy }) => [e.div(dy, b), e.f('neg', e.div(e.mul(dy, y), b))],
  // d/db aᵇ = y·log a, taken as 0 where a ≤ 0 (log(1) keeps the unused branch finite), as TF does.
  pow: (e, { a, b, y, dy }) => {
    const positive = e.cmp('greater', a, 0);
    return [e.mul(dy, e.mul(b, e.op('pow', [a, e.sub(b, 1)]))), e.mul(dy, e.mul(y, e.f('log', e.where(positive, a, 1))))];
  },
  // Ties go to a, as TF.js: a gets a ≥ b, b gets a < b.
  maximum: (e, { a, b, dy }) => [e.where(e.cmp('greaterEqual', a, b), dy, 0), e.where(e.cmp('less', a, b), dy, 0)],
  minimum: (e, { a, b, dy }) => [e.where(e.cmp('lessEqual', a, b), dy, 0), e.where(e.cmp('greater', a, b), dy, 0)],
  // Piecewise linear in dy; the mask's input gets none (its derivative is 0 almost everywhere).
  reluGrad: (e, { b, dy }) => [e.op('reluGrad', [dy, b]), e.broadcastLike(e.scalar(0, e.type(dy).dtype), dy)],
  squaredDifference: (e, { a, b, dy }) => {
    const d = e.mul(dy, e.mul(e.sub(a, b), 2));
    return [d, e.f('neg', d)];
  },
};

/** A registry-shaped rule from a binary row: both results are unbroadcast to their input's shape. */
export function binaryRule(g: BinaryGrad): GradientRule {
  return gradRule((e, ctx) => {
    const [a, b] = ctx.inputs;
    const grads = g(e, { a, b, y: ctx.outputs[0], dy: dyOf(ctx) });
    return grads.map((d, i) => unbroadcast(e, d, e.shape(ctx.inputs[i])));
  });
}

/** where(cond, a, b): dy goes to a where cond holds and to b elsewhere; cond gets none. */
export const whereGrad: GradientRule = gradRule((e, ctx) => {
  const [cond, a, b] = ctx.inputs;
  const dy = dyOf(ctx);
  return [null, unbroadcast(e, e.where(cond, dy, 0), e.shape(a)), unbroadcast(e, e.where(cond, 0, dy), e.shape(b))];
});

/** cast between float types passes the gradient (cast back); casts to or from int or bool pass none. */
export const castGrad: GradientRule = gradRule((e, ctx) => {
  const from = e.type(ctx.inputs[0]).dtype;
  if (!isFloat(from) || !isFloat(e.type(ctx.outputs[0]).dtype)) return [null];
  const dy = dyOf(ctx);
  return [e.type(dy).dtype === from ? dy : e.op('cast', [dy], { dtype: from })];
});
