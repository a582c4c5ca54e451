import type { Node } from '../../ir/types.js';
import { getOp, withDefaults } from '../../ir/registry.js';
import { layerNormAxes } from '../../ir/ops/layer-norm.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { numel, strides } from '../indexing.js';
import { literal } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

/** Lanes per row: a power of two, no wider than the row needs (short rows would idle most of 256). */
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

/** layerNorm: one workgroup per row of the normalized axes (docs/ops.md), any set of axes. */
export function lowerLayerNorm(node: Node, ctx: LowerContext): KernelSpec[] {
  const shape = node.outputs[0].shape as number[];
  const attrs = withDefaults(getOp('layerNorm'), node.attrs);
  const axes = layerNormAxes(shape, attrs);
  const st = strides(shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const N = numel(axes.map((a) => shape[a]));
  const rows = numel(kept.map((a) => shape[a]));
  const wg = workgroupFor(N);
  const b = new Bindings();
  const y = b.output(node);
  const [x, gamma, beta] = [0, 1, 2].map((i) => b.input(ctx, node, i));
  const gx = Math.min(rows, 65535);
  const dispatch: [number, number, number] = [gx, Math.ceil(rows / gx), 1];
  const wgsl = render('layer-norm', {
    ...b.header(), N, rows, wg, x, y, gamma, beta,
    eps: literal(attrs.epsilon as number, 'float32'),
    rowBase: offsetOf('r', kept.map((a) => shape[a]), kept.map((a) => st[a])),
    colOff: offsetOf('k', axes.map((a) => shape[a]), axes.map((a) => st[a])),
    groupIndex: `(wid.x + wid.y * ${gx}u)`,
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [wg, 1, 1], dispatch, operands: b.operands }];
}
