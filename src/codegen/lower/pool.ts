import type { Node } from '../../ir/types.js';
import { concreteWindow, type Padding } from '../../ir/ops/window.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, numel, unravel } from '../indexing.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const WORKGROUP = 64;

/**
 * maxPool2d / avgPool2d over NHWC with TF padding: one invocation per output element; the window is
 * clipped to the input, so padding never counts (the average divides by the real elements only).
 */
export function lowerPool(node: Node, ctx: LowerContext): KernelSpec[] {
  const x = ctx.type(node.inputs[0]).shape as number[];
  const outShape = node.outputs[0].shape as number[];
  const [KH, KW] = node.attrs.poolSize as [number, number];
  const strides = node.attrs.strides as [number, number];
  const padding = (node.attrs.padding as Padding | undefined) ?? 'valid';
  const { top, left } = concreteWindow(x, { kernel: [KH, KW], strides, dilations: [1, 1], padding });
  const b = new Bindings(ctx);
  const y = b.output(node);
  const xin = b.input(ctx, node, 0);
  const count = numel(outShape);
  const { dispatch, flatIndex } = dispatch1d(count, WORKGROUP);
  const wgsl = render('pool2d', {
    ...b.header(),
    H: x[1], W: x[2], C: x[3], KH, KW, SH: strides[0], SW: strides[1], top, left,
    average: node.op === 'avgPool2d',
    x: xin, y, count, wg: WORKGROUP, flatIndex,
    coords: unravel('i', outShape),
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
