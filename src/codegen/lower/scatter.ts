/** Lowering of scatterAdd (the transpose of gather): a gather per output element, deterministic, no atomics. */
import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { numel } from '../indexing.js';
import { literal } from '../wgsl-ops.js';
import { Bindings } from './bindings.js';
import { indexMapKernel } from './index-map.js';

/**
 * scatterAdd: output element (o, s, e) of [outer, size, inner] sums, in index order, updates[o, k, e]
 * over every k whose index is s. One pass over the indices per element: fine at Embedding sizes
 * (vocabulary × dim outputs, batch × sequence indices). An index out of [0, size) matches no output,
 * so its update is dropped (the interpreter raises an InputError; a kernel cannot fail).
 */
export function lowerScatterAdd(node: Node, ctx: LowerContext): KernelSpec[] {
  const updates = ctx.type(node.inputs[0]).shape as number[];
  const indices = ctx.type(node.inputs[1]).shape as number[];
  const axis = (node.attrs.axis as number | undefined) ?? 0;
  const size = node.attrs.size as number;
  const n = numel(indices);
  const inner = numel(updates.slice(axis + indices.length));
  const b = new Bindings(ctx);
  const out = b.output(node);
  const [u, ix] = [b.input(ctx, node, 0), b.input(ctx, node, 1)];
  const map = {
    lets: [
      `let e = i % ${inner}u; let s = i32((i / ${inner}u) % ${size}u); let o = i / ${inner * size}u;`,
      `var acc = ${literal(0, node.outputs[0].dtype)};`,
      `for (var k = 0u; k < ${n}u; k = k + 1u) { if (${ix}(k) == s) { acc = acc + ${u}((o * ${n}u + k) * ${inner}u + e); } }`,
    ],
    otherwise: 'acc',
  };
  return [indexMapKernel(node, b, out, map)];
}
