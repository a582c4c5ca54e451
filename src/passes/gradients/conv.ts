/**
 * Convolution gradients. conv(x, w) is bilinear, so each of the three ops of a family (forward,
 * backprop-input, backprop-filter) differentiates into the other two with the same window attrs.
 */
import type { Attrs, Dim } from '../../ir/types.js';
import type { GradContext, GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { dyOf, gradRule } from './expr.js';

/** The three ops of one convolution family. */
interface Family {
  readonly forward: string;
  readonly input: string;
  readonly filter: string;
}

const FAMILIES: Readonly<Record<'conv2d' | 'depthwiseConv2d', Family>> = {
  conv2d: { forward: 'conv2d', input: 'conv2dBackpropInput', filter: 'conv2dBackpropFilter' },
  depthwiseConv2d: { forward: 'depthwiseConv2d', input: 'depthwiseConv2dBackpropInput', filter: 'depthwiseConv2dBackpropFilter' },
};

/** The window attrs every op of a family shares. */
const windowAttrs = (a: Attrs): Attrs => ({ strides: a.strides, padding: a.padding, dilations: a.dilations });

/** Two spatial dims, which the gradient ops take as attrs, so they must be known statically. */
function spatial(ctx: GradContext, shape: readonly Dim[], what: string, from: number): [number, number] {
  const [h, w] = [shape[from], shape[from + 1]];
  if (h === null || w === null) {
    throw new GraphError(`gradient of '${ctx.node.name}' (${ctx.node.op}): the ${what} size ${JSON.stringify([h, w])} must be known`, { node: ctx.node.name });
  }
  return [h, w];
}

/** forward(x, w): dx = backpropInput(dy, w), dw = backpropFilter(x, dy). */
function forwardGrad(f: Family): GradientRule {
  return gradRule((e, ctx) => {
    const [x, w] = ctx.inputs;
    const dy = dyOf(ctx);
    const win = windowAttrs(ctx.attrs);
    return [
      e.op(f.input, [dy, w], { ...win, inputSize: spatial(ctx, e.shape(x), 'input', 1) }),
      e.op(f.filter, [x, dy], { ...win, kernelSize: spatial(ctx, e.shape(w), 'kernel', 0) }),
    ];
  });
}

/** backpropInput(dy, w) = the transpose of forward(·, w): d(dy) = forward(g, w), dw = backpropFilter(g, dy). */
function inputGrad(f: Family): GradientRule {
  return gradRule((e, ctx) => {
    const [dy, w] = ctx.inputs;
    const g = dyOf(ctx);
    const win = windowAttrs(ctx.attrs);
    return [e.op(f.forward, [g, w], win), e.op(f.filter, [g, dy], { ...win, kernelSize: spatial(ctx, e.shape(w), 'kernel', 0) })];
  });
}

/** backpropFilter(x, dy) = the transpose of forward(x, ·): dx = backpropInput(dy, g), d(dy) = forward(x, g). */
function filterGrad(f: Family): GradientRule {
  return gradRule((e, ctx) => {
    const [x, dy] = ctx.inputs;
    const g = dyOf(ctx);
    const win = windowAttrs(ctx.attrs);
    return [e.op(f.input, [dy, g], { ...win, inputSize: spatial(ctx, e.shape(x), 'input', 1) }), e.op(f.forward, [x, g], win)];
  });
}

/** Rules for all six convolution ops, by op name. */
export const CONV_GRADS: Readonly<Record<string, GradientRule>> = Object.fromEntries(
  Object.values(FAMILIES).flatMap((f) => [
    [f.forward, forwardGrad(f)],
    [f.input, inputGrad(f)],
    [f.filter, filterGrad(f)],
  ]),
);
