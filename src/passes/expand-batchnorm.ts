import type { ValueRef } from '../ir/types.js';
import { rewrite, rule, type RuleContext } from './rewrite.js';

/** A float32 scalar constant in the graph being built. */
function scalar(ctx: RuleContext, value: number): ValueRef {
  return ctx.builder.add('constant', [], { shape: [], dtype: 'float32', value: [value] }, `const_${value}`)[0];
}

/**
 * expandBatchNorm (training): a batchNorm whose learning phase is the constant true becomes a
 * batchNormTraining (batch statistics: one reduction kernel and one normalizing pass on the GPU, and
 * one gradient node) plus the moving averages as vector ops. Spelled out in primitive ops, a training
 * batch norm and its gradient took about 26 kernels, most of them passes over the whole activation.
 */
export const expandBatchNorm = rewrite('expandBatchNorm', [
  rule({ op: 'batchNorm', when: () => true }, (node, ctx) => {
    const flag = ctx.producer(5);
    if (flag.op !== 'constant' || (flag.attrs.value as number[])[0] === 0) return null;
    const b = ctx.builder;
    const [x, gamma, beta, movingMean, movingVar] = ctx.inputs;
    const eps = (node.attrs.epsilon as number | undefined) ?? 1e-3;
    const momentum = (node.attrs.momentum as number | undefined) ?? 0.99;
    const axis = (node.attrs.axis as number | undefined) ?? -1;
    const name = (s: string) => `${node.name}/${s}`;
    const add = (op: string, inputs: ValueRef[], n = op) => b.add(op, inputs, {}, name(n))[0];
    const [y, mean, variance] = b.add('batchNormTraining', [x, gamma, beta], { axis, epsilon: eps }, name('batch'));
    const keep = scalar(ctx, momentum);
    const take = scalar(ctx, 1 - momentum);
    const moving = (old: ValueRef, batch: ValueRef, what: string) => add('add', [add('mul', [old, keep]), add('mul', [batch, take])], what);
    return [y, moving(movingMean, mean, 'moving_mean'), moving(movingVar, variance, 'moving_variance')];
  }),
]);
