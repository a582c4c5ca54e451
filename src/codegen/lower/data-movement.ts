/**
 * Lowerings of the data-movement ops (transpose, concat, slice, pad, gather, oneHot): each is an
 * index map from output coordinates to the source element, run by the shared index-map kernel.
 */
import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext, Lowering } from '../kernel.js';
import { literal } from '../wgsl-ops.js';
import { Bindings } from './bindings.js';
import { coordNames, flatIndex, indexMapKernel, type IndexCase, type IndexMap } from './index-map.js';

type MapBuilder = (node: Node, ctx: LowerContext, b: Bindings, out: number[]) => IndexMap;

const ints = (node: Node, name: string) => node.attrs[name] as number[];
const axisOf = (node: Node, rank: number) => {
  const a = (node.attrs.axis as number | undefined) ?? 0;
  return a < 0 ? a + rank : a;
};
const shapeOf = (ctx: LowerContext, node: Node, i: number) => ctx.type(node.inputs[i]).shape as number[];

/** A lowering from an index-map builder: binds the output first, then lets the builder bind inputs. */
function indexMapLowering(build: MapBuilder): Lowering {
  return (node: Node, ctx: LowerContext): KernelSpec[] => {
    const b = new Bindings(ctx);
    const out = b.output(node);
    return [indexMapKernel(node, b, out, build(node, ctx, b, node.outputs[0].shape as number[]))];
  };
}

/** transpose: output axis d is input axis perm[d], so input coordinate perm[d] is c_d. */
export const lowerTranspose = indexMapLowering((node, ctx, b) => {
  const x = b.input(ctx, node, 0);
  const perm = ints(node, 'perm');
  const src: string[] = [];
  perm.forEach((p, d) => (src[p] = `c${d}`));
  return { otherwise: `${x}(${flatIndex(src, shapeOf(ctx, node, 0))})` };
});

/** slice: input coordinate d is c_d + begin[d]. */
export const lowerSlice = indexMapLowering((node, ctx, b, out) => {
  const x = b.input(ctx, node, 0);
  const begin = ints(node, 'begin');
  const src = coordNames(out.length).map((c, d) => (begin[d] ? `(${c} + ${begin[d]}u)` : c));
  return { otherwise: `${x}(${flatIndex(src, shapeOf(ctx, node, 0))})` };
});

/** concat: input k owns the axis range [start_k, start_k + len_k); the first input whose range holds c_axis is read. */
export const lowerConcat = indexMapLowering((node, ctx, b, out) => {
  const axis = axisOf(node, out.length);
  const reads: IndexCase[] = [];
  let start = 0;
  node.inputs.forEach((_, k) => {
    const x = b.input(ctx, node, k);
    const shape = shapeOf(ctx, node, k);
    const src = coordNames(out.length).map((c, d) => (d === axis && start ? `(${c} - ${start}u)` : c));
    start += shape[axis];
    reads.push({ when: `c${axis} < ${start}u`, value: `${x}(${flatIndex(src, shape)})` });
  });
  // Empty inputs (length 0 on the axis) own no range; the last non-empty one needs no test.
  const owning = reads.filter((_, k) => shapeOf(ctx, node, k)[axis] > 0);
  return { cases: owning.slice(0, -1), otherwise: owning.at(-1)?.value ?? literal(0, node.outputs[0].dtype) };
});

/** pad: inside the interior the input at c_d − before_d, elsewhere the constant `value`. */
export const lowerPad = indexMapLowering((node, ctx, b, out) => {
  const x = b.input(ctx, node, 0);
  const shape = shapeOf(ctx, node, 0);
  const paddings = ints(node, 'paddings');
  const inside: string[] = [];
  const src = coordNames(out.length).map((c, d) => {
    const before = paddings[2 * d];
    if (before) inside.push(`${c} >= ${before}u`);
    if (paddings[2 * d + 1]) inside.push(`${c} < ${before + shape[d]}u`);
    return before ? `(${c} - ${before}u)` : c;
  });
  const read = `${x}(${flatIndex(src, shape)})`;
  const fill = literal((node.attrs.value as number | undefined) ?? 0, node.outputs[0].dtype);
  return inside.length ? { cases: [{ when: inside.join(' && '), value: read }], otherwise: fill } : { otherwise: read };
});

/**
 * gather: output coordinates are params[:axis] + indices + params[axis+1:]; the index read at the
 * middle ones replaces the params coordinate on `axis`. An index out of [0, dim) is clamped into it
 * (the interpreter raises an InputError instead; a kernel cannot fail, and clamping never reads out of bounds).
 */
export const lowerGather = indexMapLowering((node, ctx, b, out) => {
  const params = b.input(ctx, node, 0);
  const indices = b.input(ctx, node, 1);
  const pShape = shapeOf(ctx, node, 0);
  const iShape = shapeOf(ctx, node, 1);
  const axis = axisOf(node, pShape.length);
  const c = coordNames(out.length);
  const g = `${indices}(${flatIndex(c.slice(axis, axis + iShape.length), iShape)})`;
  const src = [...c.slice(0, axis), 'g', ...c.slice(axis + iShape.length)];
  return {
    lets: [`let g = u32(clamp(${g}, 0i, ${pShape[axis] - 1}i));`],
    otherwise: `${params}(${flatIndex(src, pShape)})`,
  };
});

/** oneHot: `on` where the last coordinate equals the index, else `off` (out-of-range indices give a row of `off`). */
export const lowerOneHot = indexMapLowering((node, ctx, b, out) => {
  const indices = b.input(ctx, node, 0);
  const depth = out[out.length - 1];
  const on = literal((node.attrs.on as number | undefined) ?? 1, 'float32');
  const off = literal((node.attrs.off as number | undefined) ?? 0, 'float32');
  return {
    lets: [`let k = ${indices}(i / ${depth}u);`],
    otherwise: `select(${off}, ${on}, k == i32(c${out.length - 1}))`,
  };
});
