/** Lowerings of the pooling gradients (maxPool2dGrad, avgPool2dGrad): a gather per dx element, no atomics. */
import type { Node } from '../../ir/types.js';
import { concreteWindow, type Padding } from '../../ir/ops/window.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, numel, unravel } from '../indexing.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const WORKGROUP = 64;

/**
 * maxPool2dGrad (inputs x, dy) / avgPool2dGrad (input dy) over NHWC with TF padding: one invocation
 * per dx element sums the share of every window containing it (shaders/pool2d-grad.wgsl.hbs), with
 * the reference's rules (src/ir/ops/pool-grad.ts): the first maximum takes a max window's dy, an
 * average window divides by its real (unpadded) elements.
 */
export function lowerPoolGrad(node: Node, ctx: LowerContext): KernelSpec[] {
  const max = node.op === 'maxPool2dGrad';
  const dyShape = ctx.type(node.inputs[max ? 1 : 0]).shape as number[];
  const dxShape = node.outputs[0].shape as number[];
  const [KH, KW] = node.attrs.poolSize as [number, number];
  const strides = node.attrs.strides as [number, number];
  const padding = (node.attrs.padding as Padding | undefined) ?? 'valid';
  const { oh, ow, top, left } = concreteWindow(dxShape, { kernel: [KH, KW], strides, dilations: [1, 1], padding });
  if (oh !== dyShape[1] || ow !== dyShape[2]) throw new Error(`'${node.name}': dy [${dyShape}] is not the pool output for input [${dxShape}]`);
  const b = new Bindings(ctx);
  const dx = b.output(node);
  const x = max ? b.input(ctx, node, 0) : '';
  const dy = b.input(ctx, node, max ? 1 : 0);
  const count = numel(dxShape);
  const { dispatch, flatIndex } = dispatch1d(count, WORKGROUP);
  const wgsl = render('pool2d-grad', {
    ...b.header(),
    H: dxShape[1], W: dxShape[2], C: dxShape[3], OH: oh, OW: ow, KH, KW, SH: strides[0], SW: strides[1], top, left,
    max, x, dy, dx, count, wg: WORKGROUP, flatIndex,
    coords: unravel('i', dxShape),
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
