/** Gradients of data movement: each op's gradient is the op that moves the data back. */
import type { Dim, ValueRef } from '../../ir/types.js';
import type { GradContext, GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { normalizeAxis } from '../../ir/ops/common.js';
import { dyOf, gradRule } from './expr.js';

/** A GraphError for a gradient that needs a dim the static shapes leave unknown. */
function unknownDim(ctx: GradContext, what: string): never {
  throw new GraphError(`gradient of '${ctx.node.name}' (${ctx.node.op}): ${what} is unknown; specialize the batch first`, { node: ctx.node.name });
}

/** reshape: reshape back. */
export const reshapeGrad: GradientRule = gradRule((e, ctx) => [e.reshape(dyOf(ctx), e.shape(ctx.inputs[0]))]);

/** transpose: transpose by the inverse permutation. */
export const transposeGrad: GradientRule = gradRule((e, ctx) => {
  const perm = ctx.attrs.perm as number[];
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return [e.op('transpose', [dyOf(ctx)], { perm: inverse })];
});

/** concat: each input gets its slice of dy along the axis. */
export const concatGrad: GradientRule = gradRule((e, ctx) => {
  const dy = dyOf(ctx);
  const rank = e.shape(dy).length;
  const axis = normalizeAxis('concat', ctx.attrs.axis as number, e.shape(dy));
  let offset = 0;
  return ctx.inputs.map((x, i) => {
    const d = e.shape(x)[axis];
    const last = i === ctx.inputs.length - 1;
    if (d === null && !last) unknownDim(ctx, `the size of input ${i} along axis ${axis}`);
    const begin = Array.from({ length: rank }, (_, k) => (k === axis ? offset : 0));
    const size = Array.from({ length: rank }, (_, k) => (k === axis ? (d ?? -1) : -1));
    offset += d ?? 0;
    return e.op('slice', [dy], { begin, size });
  });
});

/** slice: dy padded with zeros back to the input's shape. */
export const sliceGrad: GradientRule = gradRule((e, ctx) => {
  const x = e.shape(ctx.inputs[0]);
  const begin = ctx.attrs.begin as number[];
  const size = ctx.attrs.size as number[];
  const paddings = x.flatMap((d, i) => {
    if (size[i] === -1) return [begin[i], 0];
    if (d === null) unknownDim(ctx, `dim ${i} of the sliced input`);
    return [begin[i], d - begin[i] - size[i]];
  });
  return [e.op('pad', [dyOf(ctx)], { paddings, value: 0 })];
});

/** pad: the interior of dy, sliced out. */
export const padGrad: GradientRule = gradRule((e, ctx) => {
  const x = e.shape(ctx.inputs[0]);
  const paddings = ctx.attrs.paddings as number[];
  const size = x.map((d, i): number => {
    if (d !== null) return d;
    if (paddings[2 * i + 1] !== 0) unknownDim(ctx, `dim ${i} of the padded input`);
    return -1;
  });
  return [e.op('slice', [dyOf(ctx)], { begin: x.map((_, i) => paddings[2 * i]), size })];
});

/** gather: dy scatter-added into the rows it was gathered from (repeated indices sum); indices get none. */
export const gatherGrad: GradientRule = gradRule((e, ctx) => {
  const [params, indices] = ctx.inputs;
  const axis = normalizeAxis('gather', ctx.attrs.axis as number, e.shape(params));
  const size: Dim = e.shape(params)[axis];
  if (size === null) unknownDim(ctx, `params dim ${axis}`);
  return [e.op('scatterAdd', [dyOf(ctx), indices], { axis, size }), null];
});

/** scatterAdd: each update's gradient is dy at its index, a gather; indices get none. */
export const scatterAddGrad: GradientRule = gradRule((e, ctx) => {
  const [, indices] = ctx.inputs;
  return [e.op('gather', [dyOf(ctx), indices], { axis: ctx.attrs.axis as number }), null] as (ValueRef | null)[];
});
