import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, numel } from '../indexing.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const WORKGROUP = 64;

/** softmax / logSoftmax along one axis, max-subtracted: one invocation per line along the axis. */
export function lowerSoftmax(node: Node, ctx: LowerContext): KernelSpec[] {
  const shape = node.outputs[0].shape as number[];
  const rank = shape.length;
  const axis = ((node.attrs.axis as number | undefined) ?? -1) < 0 ? rank + ((node.attrs.axis as number | undefined) ?? -1) : (node.attrs.axis as number);
  const L = shape[axis];
  const inner = numel(shape.slice(axis + 1));
  const lines = numel(shape) / L;
  const b = new Bindings(ctx);
  const y = b.output(node);
  const x = b.input(ctx, node, 0);
  const { dispatch, flatIndex } = dispatch1d(lines, WORKGROUP);
  const wgsl = render('softmax', { ...b.header(), L, inner, lines, wg: WORKGROUP, flatIndex, x, y, log: node.op === 'logSoftmax' });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
