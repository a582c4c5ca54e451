import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, numel, strides } from '../indexing.js';
import { literal, wgslType } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const WORKGROUP = 64;
/** From this many reduced elements per output (≥ WORKGROUP), one workgroup shares each output (tree reduction). */
export const COOPERATIVE_FROM = 256;

/** How each reduction folds `{a}` with `{b}`; mean divides the sum at the end. */
const ROWS: Readonly<Record<string, { step: string; mean?: boolean }>> = {
  reduceSum: { step: '{a} + {b}' },
  reduceMean: { step: '{a} + {b}', mean: true },
  reduceMax: { step: 'max({a}, {b})' },
  reduceMin: { step: 'min({a}, {b})' },
  reduceProd: { step: '{a} * {b}' },
};

/** The ops lowerReduce handles. */
export const REDUCE_OPS = [...Object.keys(ROWS), 'argMax'];

/** A run of input axes merged into one: its element count and input stride. */
export interface Span {
  readonly size: number;
  readonly stride: number;
}

/**
 * Splits an input shape into kept and reduced spans: size-1 axes drop out, neighbouring axes of the
 * same kind merge (row-major, so they are contiguous). Kept spans in order index the output.
 */
export function splitAxes(shape: readonly number[], reduced: ReadonlySet<number>): { kept: Span[]; reduced: Span[] } {
  const st = strides(shape);
  const out = { kept: [] as Span[], reduced: [] as Span[] };
  let last: boolean | undefined;
  shape.forEach((size, axis) => {
    if (size === 1) return;
    const isReduced = reduced.has(axis);
    const list = isReduced ? out.reduced : out.kept;
    const prev = list.at(-1);
    if (prev && last === isReduced) list[list.length - 1] = { size: prev.size * size, stride: st[axis] };
    else list.push({ size, stride: st[axis] });
    last = isReduced;
  });
  return out;
}

/** WGSL offset into the input of flat index `flat` over `spans` (row-major over the spans' sizes). */
export function spanOffset(flat: string, spans: readonly Span[]): string {
  const st = strides(spans.map((s) => s.size));
  const terms = spans.map((s, k) => {
    const q = st[k] === 1 ? flat : `(${flat} / ${st[k]}u)`;
    const c = k === 0 ? q : `(${q} % ${s.size}u)`;
    return s.stride === 1 ? c : `${c} * ${s.stride}u`;
  });
  return terms.length ? terms.join(' + ') : '0u';
}

function axesOf(node: Node, rank: number): number[] {
  const norm = (a: number) => (a < 0 ? a + rank : a);
  if (node.op === 'argMax') return [norm(node.attrs.axis as number)];
  const axes = (node.attrs.axes as number[] | undefined) ?? [];
  return axes.length === 0 ? [...Array(rank).keys()] : axes.map(norm);
}

/**
 * reduceSum/Mean/Max/Min/Prod over any axes (keepDims only changes the output's shape, not its
 * layout) and argMax (first maximum, int32): one invocation per output element, or one workgroup
 * per output with a tree reduction when each output folds many elements.
 */
export function lowerReduce(node: Node, ctx: LowerContext): KernelSpec[] {
  const xt = ctx.type(node.inputs[0]);
  const shape = xt.shape as number[];
  const spans = splitAxes(shape, new Set(axesOf(node, shape.length)));
  if (numel(shape) === 0) throw new Error(`${node.op} '${node.name}': reducing an empty tensor ${JSON.stringify(shape)} is not supported on the GPU`);
  const RN = numel(spans.reduced.map((s) => s.size));
  const outN = numel(node.outputs[0].shape as number[]);
  const T = wgslType(xt.dtype);
  const row = ROWS[node.op] as (typeof ROWS)[string] | undefined;
  const argMax = node.op === 'argMax';
  const cooperative = !argMax && RN >= COOPERATIVE_FROM;
  const b = new Bindings();
  const y = b.output(node);
  const x = b.input(ctx, node, 0);
  const fill = (a: string, c: string) => (row ? row.step.replace('{a}', a).replace('{b}', c) : '');
  const { dispatch, flatIndex } = dispatch1d(cooperative ? outN * WORKGROUP : outN, WORKGROUP);
  const wgsl = render('reduce', {
    ...b.header(),
    x, y, T, RN, outN, wg: WORKGROUP, argMax, cooperative, flatIndex,
    groupIndex: `(wid.x + wid.y * ${dispatch[0]}u)`,
    base: spanOffset('o', spans.kept),
    offset: spanOffset('r', spans.reduced),
    step: fill('acc', 'v'),
    combine: fill('part[lid.x]', 'part[lid.x + s]'),
    result: argMax ? 'at' : row?.mean ? `acc / ${literal(RN, 'float32')}` : 'acc',
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}
