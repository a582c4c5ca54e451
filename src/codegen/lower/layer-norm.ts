import type { Node } from '../../ir/types.js';
import { getOp, withDefaults } from '../../ir/registry.js';
import { layerNormAxes } from '../../ir/ops/layer-norm.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { MAX_GROUPS, numel, strides } from '../indexing.js';
import { literal } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

/** Lanes per workgroup: a power of two, no wider than the work needs (short rows would idle most of 256). */
function workgroupFor(n: number): number {
  let wg = 32;
  while (wg < 256 && wg < n) wg *= 2;
  return wg;
}

/** WGSL for the offset of flat index `v` over `dims` laid out with `steps` (the axes' strides in the tensor). */
function offsetOf(v: string, dims: readonly number[], steps: readonly number[]): string {
  const inner = strides(dims);
  // Axes that are contiguous among themselves (the usual case) need no div/mod.
  const unit = steps[dims.length - 1] ?? 1;
  if (steps.every((s, i) => s === inner[i] * unit)) return unit === 1 ? v : `${v} * ${unit}u`;
  const terms = dims.flatMap((d, i) => {
    if (d === 1) return [];
    const q = inner[i] === 1 ? v : `(${v} / ${inner[i]}u)`;
    const c = i === 0 ? q : `(${q} % ${d}u)`;
    return [steps[i] === 1 ? c : `${c} * ${steps[i]}u`];
  });
  return terms.length ? terms.join(' + ') : '0u';
}

/** A layerNorm-family node's shape as rows × N columns, with the WGSL offsets of both. */
function layoutOf(node: Node, x: readonly number[]) {
  const attrs = withDefaults(getOp(node.op), node.attrs);
  const axes = layerNormAxes(x, attrs);
  const st = strides(x);
  const kept = x.map((_, i) => i).filter((i) => !axes.includes(i));
  return {
    N: numel(axes.map((a) => x[a])),
    rows: numel(kept.map((a) => x[a])),
    eps: literal(attrs.epsilon as number, 'float32'),
    rowBase: offsetOf('r', kept.map((a) => x[a]), kept.map((a) => st[a])),
    colOff: offsetOf('k', axes.map((a) => x[a]), axes.map((a) => st[a])),
  };
}

/** A dispatch of `groups` workgroups, folded into two dimensions past the limit, and the WGSL for a group's index. */
function groupsOf(groups: number): { dispatch: [number, number, number]; groupIndex: string } {
  const gx = Math.min(groups, MAX_GROUPS);
  return { dispatch: [gx, Math.ceil(groups / gx), 1], groupIndex: `(wid.x + wid.y * ${gx}u)` };
}

/** layerNorm: one workgroup per row of the normalized axes (docs/ops.md), any set of axes. */
export function lowerLayerNorm(node: Node, ctx: LowerContext): KernelSpec[] {
  const layout = layoutOf(node, node.outputs[0].shape as number[]);
  const wg = workgroupFor(layout.N);
  const b = new Bindings(ctx);
  const y = b.output(node);
  const [x, gamma, beta] = [0, 1, 2].map((i) => b.input(ctx, node, i));
  const { dispatch, groupIndex } = groupsOf(layout.rows);
  const wgsl = render('layer-norm', { ...b.header(), ...layout, wg, x, y, gamma, beta, groupIndex });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [wg, 1, 1], dispatch, operands: b.operands }];
}

/**
 * layerNormGrad: dx by one workgroup per row, which also leaves each row's mean and 1/√(var+ε) in
 * scratch; then dγ and dβ by one workgroup per column, summing over the rows with those statistics.
 */
export function lowerLayerNormGrad(node: Node, ctx: LowerContext): KernelSpec[] {
  const layout = layoutOf(node, node.outputs[0].shape as number[]);
  const stats = ctx.scratch(4 * 2 * layout.rows);

  const r = new Bindings(ctx);
  const dx = r.output(node, 0);
  const [x, gamma, dy] = [0, 1, 2].map((i) => r.input(ctx, node, i));
  const statsOut = r.scratch(stats, 'out');
  const rowWg = workgroupFor(layout.N);
  const rowGroups = groupsOf(layout.rows);
  const rowsWgsl = render('layer-norm-grad-rows', { ...r.header(), ...layout, wg: rowWg, x, gamma, dy, dx, stats: statsOut, groupIndex: rowGroups.groupIndex });

  const p = new Bindings(ctx);
  const [dGamma, dBeta] = [p.output(node, 1), p.output(node, 2)];
  const [px, pdy] = [p.input(ctx, node, 0), p.input(ctx, node, 2)];
  const statsIn = p.scratch(stats, 'in');
  const colWg = workgroupFor(layout.rows);
  const colGroups = groupsOf(layout.N);
  const paramsWgsl = render('layer-norm-grad-params', { ...p.header(), ...layout, wg: colWg, x: px, dy: pdy, dGamma, dBeta, stats: statsIn, groupIndex: colGroups.groupIndex });

  return [
    { name: node.name, wgsl: rowsWgsl, entryPoint: 'main', workgroupSize: [rowWg, 1, 1], dispatch: rowGroups.dispatch, operands: r.operands },
    { name: node.name, wgsl: paramsWgsl, entryPoint: 'main', workgroupSize: [colWg, 1, 1], dispatch: colGroups.dispatch, operands: p.operands },
  ];
}
