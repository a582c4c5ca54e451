import type { ValueRef } from '../ir/types.js';
import { rewrite, rule, type RuleContext } from './rewrite.js';

/** A float32 scalar constant in the graph being built. */
function scalar(ctx: RuleContext, value: number): ValueRef {
  return ctx.builder.add('constant', [], { shape: [], dtype: 'float32', value: [value] }, `const_${value}`)[0];
}

/**
 * expandBatchNorm (training): a batchNorm whose learning phase is the constant true becomes the
 * primitive ops it stands for (batch mean and biased variance, normalize, scale, shift, moving
 * averages), so autodiff differentiates it and fusion and the reduce kernels run it.
 */
export const expandBatchNorm = rewrite('expandBatchNorm', [
  rule({ op: 'batchNorm', when: () => true }, (node, ctx) => {
    const flag = ctx.producer(5);
    if (flag.op !== 'constant' || (flag.attrs.value as number[])[0] === 0) return null;
    const b = ctx.builder;
    const [x, gamma, beta, movingMean, movingVar] = ctx.inputs;
    const shape = b.type(x).shape as number[];
    const rank = shape.length;
    const axisAttr = (node.attrs.axis as number | undefined) ?? -1;
    const axis = axisAttr < 0 ? rank + axisAttr : axisAttr;
    const eps = (node.attrs.epsilon as number | undefined) ?? 1e-3;
    const momentum = (node.attrs.momentum as number | undefined) ?? 0.99;
    const axes = shape.map((_, i) => i).filter((i) => i !== axis);
    const channelShape = shape.map((d, i) => (i === axis ? d : 1));
    const name = (s: string) => `${node.name}/${s}`;
    const add = (op: string, inputs: ValueRef[], attrs = {}, n = op) => b.add(op, inputs, attrs, name(n))[0];
    const asChannels = (v: ValueRef) => add('reshape', [v], { shape: channelShape }, 'to_channels');
    const asVector = (v: ValueRef) => add('reshape', [v], { shape: [shape[axis]] }, 'to_vector');

    const mean = add('reduceMean', [x], { axes, keepDims: true }, 'mean');
    const centered = add('sub', [x, mean], {}, 'centered');
    const variance = add('reduceMean', [add('square', [centered])], { axes, keepDims: true }, 'variance');
    const inv = add('rsqrt', [add('add', [variance, scalar(ctx, eps)])], {}, 'inv_std');
    const y = add('add', [add('mul', [add('mul', [centered, inv]), asChannels(gamma)]), asChannels(beta)], {}, 'y');
    const keep = scalar(ctx, momentum);
    const take = scalar(ctx, 1 - momentum);
    const moving = (old: ValueRef, batch: ValueRef, what: string) => add('add', [add('mul', [old, keep]), add('mul', [asVector(batch), take])], {}, what);
    return [y, moving(movingMean, mean, 'moving_mean'), moving(movingVar, variance, 'moving_variance')];
  }),
]);
