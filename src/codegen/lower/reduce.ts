import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, numel, strides } from '../indexing.js';
import { literal, wgslType } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';

const WORKGROUP = 64;
/** Split reductions (two kernels through scratch) from this many reduced elements per output… */
export const SPLIT_FROM = 4096;
/** …when there are fewer outputs than reduced elements / SPLIT_RATIO (too few to fill a GPU one workgroup each). */
export const SPLIT_RATIO = 64;
const SPLIT_WG = 256;
/** Elements each first-pass workgroup folds, at least; and at most this many workgroups. */
const SPLIT_PER_GROUP = SPLIT_WG * 16;
// More partials would make the final pass the slow part.
const SPLIT_MAX_GROUPS = 256;
/**
 * Running folds a lane of a leading split reduction keeps over interleaved rows: with one, each lane had
 * one load in flight, and the CNN's bias gradient at batch 4096 (2768896 rows × 32) took 0.56 ms on an
 * H100, 0.63 TB/s (`…-session11-train-4096.log`).
 */
const STREAMS = 4;
/** From this many partials per output, the final pass gives each output a workgroup of up to FINAL_LANES lanes. */
const FINAL_LANES_FROM = 16;
const FINAL_LANES = 64;
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
 * per output with a tree reduction when each output folds many elements, or (float32, few outputs
 * over many elements, a leading or trailing reduced block) two kernels through scratch: see lowerSplit.
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
  const columns = cooperative ? columnView(spans) : undefined;
  const split = !argMax && row && xt.dtype === 'float32' && worthSplitting(RN, outN, columns) ? splitView(spans) : undefined;
  if (split) return lowerSplit(node, ctx, split, row!, RN);
  const b = new Bindings(ctx);
  const y = b.output(node);
  const x = b.input(ctx, node, 0);
  const fill = (a: string, c: string) => (row ? row.step.replace('{a}', a).replace('{b}', c) : '');
  if (columns) {
    const { dispatch } = dispatch1d((outN / columns.C) * COLUMNS_WG, COLUMNS_WG);
    const wgsl = render('reduce', {
      ...b.header(),
      x, y, T, RN, outN, wg: COLUMNS_WG, cooperative: false, columns: true, argMax: false, flatIndex: '',
      C: columns.C, lanes: COLUMNS_WG / columns.C, rStride: columns.rStride,
      groupIndex: `(wid.x + wid.y * ${dispatch[0]}u)`,
      outerBase: spanOffset('g', spans.kept.slice(0, -1)),
      step: fill('acc', 'v'),
      combineColumns: fill('part[lid.x]', 'part[lid.x + s * C]'),
      result: row?.mean ? `acc / ${literal(RN, 'float32')}` : 'acc',
    });
    return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [COLUMNS_WG, 1, 1], dispatch, operands: b.operands }];
  }
  const { dispatch, flatIndex } = dispatch1d(cooperative ? outN * WORKGROUP : outN, WORKGROUP);
  const wgsl = render('reduce', {
    ...b.header(),
    x, y, T, RN, outN, wg: WORKGROUP, argMax, cooperative, columns: false, flatIndex,
    groupIndex: `(wid.x + wid.y * ${dispatch[0]}u)`,
    base: spanOffset('o', spans.kept),
    offset: spanOffset('r', spans.reduced),
    step: fill('acc', 'v'),
    combine: fill('part[lid.x]', 'part[lid.x + s]'),
    result: argMax ? 'at' : row?.mean ? `acc / ${literal(RN, 'float32')}` : 'acc',
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [WORKGROUP, 1, 1], dispatch, operands: b.operands }];
}

/** Threads of a column reduction's workgroup (shaders/reduce.wgsl.hbs, `columns`). */
const COLUMNS_WG = 256;
/** Widest innermost kept span a column reduction takes: 4 or more lanes then share each column. */
const COLUMNS_MAX = 64;

/**
 * A reduction over one span whose elements are C apart, with the C kept elements of the innermost
 * kept span next to each other (C a power of 2 from 2 to COLUMNS_MAX): global pooling over NHWC. The
 * per-output workgroup would read with stride C; this view reads rows of C instead.
 */
function columnView(spans: { kept: Span[]; reduced: Span[] }): { C: number; rStride: number } | undefined {
  const inner = spans.kept.at(-1);
  if (spans.reduced.length !== 1 || !inner || inner.stride !== 1 || spans.reduced[0].stride !== inner.size) return undefined;
  const C = inner.size;
  return C >= 2 && C <= COLUMNS_MAX && (C & (C - 1)) === 0 ? { C, rStride: spans.reduced[0].stride } : undefined;
}

/** A reduction seen as [R, C] reduced over R (`leading`) or [C, R] reduced over R (trailing). */
interface SplitView {
  readonly leading: boolean;
  readonly R: number;
  readonly C: number;
}

/** Below this many workgroups a column reduction (see columnView)… */
const FEW_GROUPS = 8;
/** …whose lanes each fold more than this many rows one after another is split instead. */
const SERIAL_STEPS = 32;

/**
 * Whether two passes beat one: few outputs over many elements, or a column reduction with so few
 * workgroups that each lane walks a long serial chain of loads (the ResNet's global pooling at batch 1:
 * 128 rows per lane in one workgroup, 26 µs on an H100).
 */
function worthSplitting(RN: number, outN: number, columns: { C: number } | undefined): boolean {
  if (RN >= SPLIT_FROM && outN * SPLIT_RATIO < RN) return true;
  return !!columns && outN / columns.C < FEW_GROUPS && RN / (COLUMNS_WG / columns.C) > SERIAL_STEPS;
}

/** The [R, C] / [C, R] view of a reduction that two passes can split, or undefined. */
function splitView(spans: { kept: Span[]; reduced: Span[] }): SplitView | undefined {
  if (spans.reduced.length !== 1 || spans.kept.length > 1) return undefined;
  const [red] = spans.reduced;
  const kept = spans.kept[0] as Span | undefined;
  const C = kept?.size ?? 1;
  if (red.stride === C && (!kept || kept.stride === 1)) return { leading: true, R: red.size, C };
  if (kept && red.stride === 1 && kept.stride === red.size && C <= 65535) return { leading: false, R: red.size, C };
  return undefined;
}

/**
 * A float32 reduction with few outputs over many elements, as two kernels: G workgroups each fold a
 * contiguous slice of rows for every output into G×C partials in scratch (reading coalesced), then
 * one invocation per output folds its G partials.
 */
function lowerSplit(node: Node, ctx: LowerContext, { leading, R, C }: SplitView, row: (typeof ROWS)[string], RN: number): KernelSpec[] {
  const fill = (a: string, c: string) => row.step.replace('{a}', a).replace('{b}', c);
  const cols = Math.min(C, SPLIT_WG);
  const rows = leading ? Math.floor(SPLIT_WG / cols) : 1;
  // Aim for about SPLIT_PER_GROUP elements per workgroup in all, never fewer rows than lanes per column.
  const wanted = Math.min(Math.ceil((R * C) / SPLIT_PER_GROUP), SPLIT_MAX_GROUPS);
  const perOutput = leading ? wanted : Math.max(1, Math.ceil(wanted / C));
  const minRows = leading ? rows : SPLIT_WG;
  const chunk = Math.max(Math.ceil(R / Math.min(perOutput, Math.ceil(R / minRows))), 1);
  const G = Math.ceil(R / chunk);
  const partials = ctx.scratch(4 * G * C);

  const p = new Bindings(ctx);
  const s = p.scratch(partials, 'out');
  const x = p.input(ctx, node, 0);
  const first = render('reduce-partial', {
    ...p.header(),
    x, s, R, C, chunk, wg: SPLIT_WG, leading, cols, rows,
    streamCount: STREAMS,
    streams: Array.from({ length: STREAMS - 1 }, (_, k) => ({ acc: `acc${k + 1}`, v: `v${k + 1}`, offset: k + 1, step: fill(`acc${k + 1}`, `v${k + 1}`), merge: fill('acc', `acc${k + 1}`) })),
    step: fill('acc', 'v'),
    combine: fill('part[lid.x]', 'part[lid.x + s]'),
  });

  const f = new Bindings(ctx);
  const y = f.output(node);
  const sr = f.scratch(partials, 'in');
  // Many partials per output: a workgroup of lanes per output, each lane every `lanes`-th partial.
  const lanes = G >= FINAL_LANES_FROM ? 2 ** Math.floor(Math.log2(Math.min(G, FINAL_LANES))) : 0;
  const grid = dispatch1d(lanes ? C * lanes : C, lanes || WORKGROUP);
  const second = render('reduce-final', {
    ...f.header(),
    s: sr, y, C, G, wg: WORKGROUP, flatIndex: grid.flatIndex,
    cooperative: lanes > 0, lanes, groupIndex: `(wid.x + wid.y * ${grid.dispatch[0]}u)`,
    step: fill('acc', 'v'),
    combine: fill('part[lid.x]', 'part[lid.x + s]'),
    result: row.mean ? `acc / ${literal(RN, 'float32')}` : 'acc',
  });
  return [
    { name: node.name, wgsl: first, entryPoint: 'main', workgroupSize: [SPLIT_WG, 1, 1], dispatch: leading ? [G, 1, 1] : [G, C, 1], operands: p.operands },
    { name: node.name, wgsl: second, entryPoint: 'main', workgroupSize: [lanes || WORKGROUP, 1, 1], dispatch: grid.dispatch, operands: f.operands },
  ];
}
