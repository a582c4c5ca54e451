/** Lowerings of the pooling gradients (maxPool2dGrad, avgPool2dGrad): a gather per dx element, or per window where windows tile the input; no atomics. */
import type { Node } from '../../ir/types.js';
import { concreteWindow, type Padding } from '../../ir/ops/window.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, numel, unravel } from '../indexing.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { bodyOf, producerOf } from '../chain.js';
import { epilogueCode, producerParam } from './epilogue.js';
import { literal } from '../wgsl-ops.js';

const WORKGROUP = 64;

/**
 * maxPool2dGrad (inputs x, dy) / avgPool2dGrad (input dy) over NHWC with TF padding: one invocation
 * per dx element sums the share of every window containing it (shaders/pool2d-grad.wgsl.hbs), with
 * the reference's rules (src/ir/ops/pool-grad.ts): the first maximum takes a max window's dy, an
 * average window divides by its real (unpadded) elements. A fused node runs its epilogue's chain at
 * each dx element. Windows that tile the input exactly (the usual MaxPooling2D(2)) take one invocation
 * per window instead (shaders/pool2d-grad-windows.wgsl.hbs): the gather read each x up to 5 times and
 * did the CNN's at batch 4096 in 0.88 ms on an H100 (`…-session11-train-4096.log`).
 */
export function lowerPoolGrad(node: Node, ctx: LowerContext): KernelSpec[] {
  const inputTypes = node.inputs.map((r) => ctx.type(r));
  // Alone, or leading a fused epilogue (relu's mask after it in a training step).
  const body = bodyOf(node, inputTypes);
  const pool = producerOf(body)!;
  const max = pool.op === 'maxPool2dGrad';
  const [xi, dyi] = max ? [producerParam(body, 0), producerParam(body, 1)] : [-1, producerParam(body, 0)];
  const dyShape = inputTypes[dyi].shape as number[];
  const dxShape = node.outputs[0].shape as number[];
  const [KH, KW] = pool.attrs.poolSize as [number, number];
  const strides = pool.attrs.strides as [number, number];
  const padding = (pool.attrs.padding as Padding | undefined) ?? 'valid';
  const { oh, ow, top, left } = concreteWindow(dxShape, { kernel: [KH, KW], strides, dilations: [1, 1], padding });
  if (oh !== dyShape[1] || ow !== dyShape[2]) throw new Error(`'${node.name}': dy [${dyShape}] is not the pool output for input [${dxShape}]`);
  const b = new Bindings(ctx);
  const outs = node.outputs.map((_, k) => b.output(node, k));
  const ins = node.inputs.map((_, k) => b.input(ctx, node, k));
  const epi = epilogueCode(body, ins, outs, inputTypes, dxShape);
  // Windows that tile the input exactly: one invocation per window writes each element once.
  if (strides[0] === KH && strides[1] === KW && top === 0 && left === 0 && oh * KH === dxShape[1] && ow * KW === dxShape[2]) {
    const windows = numel(dyShape);
    const grid = dispatch1d(windows, WORKGROUP);
    const wgsl = render('pool2d-grad-windows', {
      ...b.header(epi.helpers),
      H: dxShape[1], W: dxShape[2], C: dxShape[3], OH: oh, OW: ow, KH, KW,
      max, x: max ? ins[xi] : '', dy: ins[dyi], count: windows, wg: WORKGROUP, flatIndex: grid.flatIndex,
      inverseArea: literal(1 / (KH * KW), 'float32'),
      epilogue: epi.lines,
    });
    return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch: grid.dispatch, operands: b.operands }];
  }
  const count = numel(dxShape);
  const { dispatch, flatIndex } = dispatch1d(count, WORKGROUP);
  const wgsl = render('pool2d-grad', {
    ...b.header(epi.helpers),
    H: dxShape[1], W: dxShape[2], C: dxShape[3], OH: oh, OW: ow, KH, KW, SH: strides[0], SW: strides[1], top, left,
    max, x: max ? ins[xi] : '', dy: ins[dyi], count, wg: WORKGROUP, flatIndex,
    coords: unravel('i', dxShape),
    epilogue: epi.lines,
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
