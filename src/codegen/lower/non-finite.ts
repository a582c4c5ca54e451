/** nonFiniteCount: one pass over all its inputs in a fixed grid, then the partial counts summed. */
import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { sumChunksKernel } from './split-gemm.js';

/** Threads of the counting kernel's workgroup (shaders/non-finite.wgsl.hbs). */
const WG = 256;
/** Elements a lane tests at least, before the grid grows; and the grid's cap. */
const PER_LANE = 8;
const MAX_GROUPS = 1024;

/** The counting kernel (shaders/non-finite.wgsl.hbs) and, with more than one workgroup, the sum of their partials. */
export function lowerNonFinite(node: Node, ctx: LowerContext): KernelSpec[] {
  const sizes = node.inputs.map((r) => ctx.type(r).shape.reduce<number>((a, d) => a * (d ?? 1), 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const groups = Math.max(1, Math.min(MAX_GROUPS, Math.ceil(total / (WG * PER_LANE))));
  const b = new Bindings(ctx);
  const partials = groups > 1 ? ctx.scratch(4 * groups) : undefined;
  const out = partials ? b.scratch(partials, 'out') : b.output(node);
  const segments = node.inputs.map((_, k) => ({ read: b.input(ctx, node, k), size: sizes[k] }));
  const wgsl = render('non-finite', { ...b.header(), segments, stride: groups * WG, out });
  const count: KernelSpec = { name: groups > 1 ? `${node.name} (partial)` : node.name, wgsl, entryPoint: 'main', workgroupSize: [WG, 1, 1], dispatch: [groups, 1, 1], operands: b.operands };
  return partials ? [count, sumChunksKernel(ctx, node, 0, partials, groups, 1, `${node.name} (sum)`)] : [count];
}
