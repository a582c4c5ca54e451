import type { Node } from '../../ir/types.js';
import { getOp, withDefaults } from '../../ir/registry.js';
import { MASKED_SCORE } from '../../ir/ops/attention.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { broadcastIndex, dispatch1d, MAX_GROUPS } from '../indexing.js';
import { literal } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

/** Bytes of workgroup memory the key and value tiles may take (WebGPU guarantees 16 KiB). */
const TILE_BYTES = 8192;
/** Keys from which a GPU shares key/value tiles among a block of queries; shorter rows gain nothing from it. */
const TILED_FROM_KEYS = 32;
const ROW_WORKGROUP = 64;

/** Queries per workgroup of the tiled kernel: a power of two covering the sequence, 16 to 64. */
function queriesPerGroup(tq: number): number {
  let wg = 16;
  while (wg < 64 && wg < tq) wg *= 2;
  return wg;
}

/**
 * attention: one kernel with an online softmax, so the [batch, heads, tq, tk] scores are never
 * written. On a GPU with enough keys it is flash-attention style (a workgroup per block of queries of
 * one batch and head, key/value tiles through workgroup memory); otherwise, and on CPU adapters (whose
 * caches already give the reuse the tiles buy, without barriers), one invocation per (batch, query, head).
 * Causal rows stop at their own position (tiled: at their block's last query).
 */
export function lowerAttention(node: Node, ctx: LowerContext): KernelSpec[] {
  const attrs = withDefaults(getOp('attention'), node.attrs);
  const [B, tq, heads, valueDepth] = node.outputs[0].shape as number[];
  const [tk, , depth] = (ctx.type(node.inputs[1]).shape as number[]).slice(1);
  const b = new Bindings(ctx);
  const y = b.output(node);
  const [q, k, v] = [0, 1, 2].map((i) => b.input(ctx, node, i));
  const mask = node.inputs.length > 3 ? b.input(ctx, node, 3) : undefined;
  const causal = attrs.causal === true;
  const common = {
    ...b.header(), q, k, v, y, mask, tq, tk, heads, depth, valueDepth, causal, causalSkip: causal && !mask,
    maskIndex: mask ? broadcastIndex(ctx.type(node.inputs[3]).shape as number[], [B, tq, tk]) : '',
    scale: literal(attrs.scale as number, 'float32'), masked: literal(MASKED_SCORE, 'float32'),
  };
  const spec = (wgsl: string, wg: number, dispatch: readonly [number, number, number]): KernelSpec[] => [
    { name: node.name, wgsl, entryPoint: 'main', workgroupSize: [wg, 1, 1], dispatch, operands: b.operands },
  ];
  if (ctx.profile.name === 'gpu' && tk >= TILED_FROM_KEYS) {
    const wg = queriesPerGroup(tq);
    const kt = Math.max(1, Math.min(64, tk, Math.floor(TILE_BYTES / 4 / (depth + valueDepth))));
    const blocks = Math.ceil(tq / wg);
    const groups = B * heads * blocks;
    const gx = Math.min(groups, MAX_GROUPS);
    const wgsl = render('attention-tiled', { ...common, wg, kt, blocks, groups, ktD: kt * depth, ktDv: kt * valueDepth, groupIndex: `(wid.x + wid.y * ${gx}u)` });
    return spec(wgsl, wg, [gx, Math.ceil(groups / gx), 1]);
  }
  const rows = B * tq * heads;
  const { dispatch, flatIndex } = dispatch1d(rows, ROW_WORKGROUP);
  return spec(render('attention-row', { ...common, rows, flatIndex, wg: ROW_WORKGROUP }), ROW_WORKGROUP, dispatch);
}

/**
 * attentionGrad: two kernels and no score matrix. One invocation per query row recomputes its softmax
 * and writes dq, leaving its max, 1/sum and Σ P·dP in scratch; one invocation per key row then walks
 * the queries with those to write dk and dv.
 */
export function lowerAttentionGrad(node: Node, ctx: LowerContext): KernelSpec[] {
  const attrs = withDefaults(getOp('attentionGrad'), node.attrs);
  const [B, tq, heads, depth] = node.outputs[0].shape as number[];
  const [tk, , valueDepth] = (node.outputs[2].shape as number[]).slice(1);
  const hasMask = node.inputs.length > 4;
  const causal = attrs.causal === true;
  const stats = ctx.scratch(4 * 3 * B * tq * heads);
  const kernel = (template: 'attention-grad-queries' | 'attention-grad-keys', rows: number, outputs: Record<string, number>, role: 'in' | 'out'): KernelSpec => {
    const b = new Bindings(ctx);
    const outs = Object.fromEntries(Object.entries(outputs).map(([name, i]) => [name, b.output(node, i)]));
    const [q, k, v, dy] = [0, 1, 2, 3].map((i) => b.input(ctx, node, i));
    const mask = hasMask ? b.input(ctx, node, 4) : undefined;
    const st = b.scratch(stats, role);
    const { dispatch, flatIndex } = dispatch1d(rows, ROW_WORKGROUP);
    const wgsl = render(template, {
      ...b.header(), ...outs, q, k, v, dy, mask, stats: st, tq, tk, heads, depth, valueDepth, rows, flatIndex, wg: ROW_WORKGROUP,
      causal, causalSkip: causal && !hasMask, scale: literal(attrs.scale as number, 'float32'), masked: literal(MASKED_SCORE, 'float32'),
      maskIndex: hasMask ? broadcastIndex(ctx.type(node.inputs[4]).shape as number[], [B, tq, tk]) : '',
    });
    return { name: node.name, wgsl, entryPoint: 'main', workgroupSize: [ROW_WORKGROUP, 1, 1], dispatch, operands: b.operands };
  };
  return [kernel('attention-grad-queries', B * tq * heads, { dq: 0 }, 'out'), kernel('attention-grad-keys', B * tk * heads, { dk: 1, dv: 2 }, 'in')];
}
