import type { Node } from '../../ir/types.js';
import { getOp, withDefaults } from '../../ir/registry.js';
import { MASKED_SCORE } from '../../ir/ops/attention.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { broadcastIndex, dispatch1d } from '../indexing.js';
import { literal } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const WORKGROUP = 64;

/**
 * attention: one kernel, one invocation per (batch, query, head), with an online softmax over the keys,
 * so the [batch, heads, tq, tk] scores are never written; causal rows stop at their own position.
 */
export function lowerAttention(node: Node, ctx: LowerContext): KernelSpec[] {
  const attrs = withDefaults(getOp('attention'), node.attrs);
  const [B, tq, heads, valueDepth] = node.outputs[0].shape as number[];
  const [tk, , depth] = (ctx.type(node.inputs[1]).shape as number[]).slice(1);
  const b = new Bindings();
  const y = b.output(node);
  const [q, k, v] = [0, 1, 2].map((i) => b.input(ctx, node, i));
  const mask = node.inputs.length > 3 ? b.input(ctx, node, 3) : undefined;
  const maskIndex = mask ? broadcastIndex(ctx.type(node.inputs[3]).shape as number[], [B, tq, tk]) : '';
  const rows = B * tq * heads;
  const { dispatch, flatIndex } = dispatch1d(rows, WORKGROUP);
  const wgsl = render('attention', {
    ...b.header(), q, k, v, y, mask, maskIndex, tq, tk, heads, depth, valueDepth, rows, flatIndex, wg: WORKGROUP,
    causal: attrs.causal === true, causalSkip: attrs.causal === true && !mask, scale: literal(attrs.scale as number, 'float32'), masked: literal(MASKED_SCORE, 'float32'),
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
