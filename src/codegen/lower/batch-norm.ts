/**
 * The training batch norm's kernels (shaders/batch-norm-*.wgsl.hbs): batchNormTraining and
 * batchNormTrainingGrad each run a first pass of partial sums per chunk of rows and channel, a
 * per-channel combine in a fixed order, and one elementwise pass over the tensor.
 */
import type { Node } from '../../ir/types.js';
import { getOp, withDefaults } from '../../ir/registry.js';
import { channelLayout, type ChannelLayout } from '../../ir/ops/batchnorm.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d, MAX_GROUPS } from '../indexing.js';
import { literal } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { ELEMENTWISE_WORKGROUP } from './elementwise.js';

const PARTIAL_WG = 256;
/** Elements a first-pass workgroup folds, at least… */
const PER_GROUP = 16384;
/** …and at most this many workgroups (partials per channel), which the combine pass folds. */
const MAX_PARTIALS = 512;
/** Widest lane count of the combine pass's workgroup per channel. */
const COMBINE_LANES = 64;

/** Where each operand sits among a node's inputs (docs/ops.md). */
const FORWARD_INPUTS = { x: 0, gamma: 1, beta: 2, side: 3 } as const;
const GRAD_INPUTS = { x: 0, gamma: 1, mean: 2, variance: 3, dy: 4 } as const;

/** How the first pass splits the M = outer·inner reduction rows of a batch norm over its C channels. */
interface Split {
  readonly M: number;
  readonly chunk: number;
  readonly G: number;
  /** Lanes side by side in a row: each takes a channel, or four (`quads`). */
  readonly cols: number;
  readonly rows: number;
  readonly quads: boolean;
}

/** Whether the passes read and write four channels at once: channels innermost, a multiple of 4. */
const byQuads = ({ C, inner }: ChannelLayout) => inner === 1 && C % 4 === 0;

/**
 * Chunks of rows for the first pass, and its lanes: channels (or quads of them) side by side where
 * they are innermost (NHWC), else one channel at a time with every lane on its own row (rows are then
 * contiguous).
 */
export function batchNormSplit(layout: ChannelLayout): Split {
  const { outer, C, inner } = layout;
  const M = outer * inner;
  const quads = byQuads(layout);
  const cols = inner === 1 ? Math.min(quads ? C / 4 : C, PARTIAL_WG) : 1;
  const rows = 2 ** Math.floor(Math.log2(PARTIAL_WG / cols));
  const wanted = Math.max(1, Math.min(MAX_PARTIALS, Math.floor((M * C) / PER_GROUP)));
  const chunk = Math.max(Math.ceil(M / wanted), 1);
  return { M, chunk, G: Math.ceil(M / chunk), cols, rows, quads };
}

/** WGSL for the offset of reduction row m of channel c. */
function offsetOf({ C, inner }: ChannelLayout): string {
  return inner === 1 ? `m * ${C}u + c` : `(m / ${inner}u) * ${C * inner}u + c * ${inner}u + m % ${inner}u`;
}

/** The [outer, C, inner] layout of a batch norm node's x, and its epsilon as WGSL. */
function layoutOf(node: Node, ctx: LowerContext): { layout: ChannelLayout; eps: string } {
  const attrs = withDefaults(getOp(node.op), node.attrs);
  const shape = ctx.type(node.inputs[0]).shape as number[];
  return { layout: channelLayout(node.op, shape, attrs.axis as number), eps: literal(attrs.epsilon as number, 'float32') };
}

/** The combine pass's lanes per channel: a power of two no larger than the partials, so every lane has one. */
function combineLanes(G: number): number {
  return 2 ** Math.floor(Math.log2(Math.min(G, COMBINE_LANES)));
}

/** The elementwise pass's grid (an invocation per element, or per four with `quads`) and its WGSL for the channel of flat index i. */
function applyGrid(layout: ChannelLayout) {
  const { outer, C, inner } = layout;
  const count = outer * C * inner;
  const quads = byQuads(layout);
  const { dispatch, flatIndex } = dispatch1d(quads ? count / 4 : count, ELEMENTWISE_WORKGROUP);
  return { count, dispatch, flatIndex, quads, C, channel: inner === 1 ? `i % ${C}u` : `(i / ${inner}u) % ${C}u` };
}

/**
 * The three kernels of a training batch norm or its gradient (docs/ops.md): a first pass folding
 * chunks of rows per channel into partials, a pass combining each channel's partials in a fixed order
 * into the statistics and per-channel coefficients, and an elementwise pass applying them.
 */
function lowerBatchNormPasses(node: Node, ctx: LowerContext, forward: boolean): KernelSpec[] {
  const { layout, eps } = layoutOf(node, ctx);
  const split = batchNormSplit(layout);
  const { C } = layout;
  const partials = ctx.scratch(4 * 2 * split.G * C);
  const coefs = ctx.scratch(4 * (forward ? 2 : 3) * C);
  const [F, G] = [FORWARD_INPUTS, GRAD_INPUTS];

  const p = new Bindings(ctx);
  const s = p.scratch(partials, 'out');
  const x = p.input(ctx, node, F.x);
  const extra = forward ? {} : { mean: p.input(ctx, node, G.mean), dy: p.input(ctx, node, G.dy) };
  const first = render('batch-norm-partial', { ...p.header([], { quads: split.quads }), ...split, ...extra, C, wg: PARTIAL_WG, forward, x, s, offset: offsetOf(layout) });

  const f = new Bindings(ctx);
  const outs = forward ? { meanOut: f.output(node, 1), varOut: f.output(node, 2) } : { dGamma: f.output(node, 1), dBeta: f.output(node, 2) };
  const sr = f.scratch(partials, 'in');
  const coef = f.scratch(coefs, 'out');
  const gamma = f.input(ctx, node, F.gamma);
  const params = forward ? { beta: f.input(ctx, node, F.beta) } : { mean: f.input(ctx, node, G.mean), variance: f.input(ctx, node, G.variance) };
  const lanes = combineLanes(split.G);
  const groups = Math.min(C, MAX_GROUPS);
  const second = render('batch-norm-combine', {
    ...f.header(), ...outs, ...params, C, G: split.G, M: split.M, chunk: split.chunk, lanes, eps, forward, s: sr, coef, gamma,
    groupIndex: `(wid.x + wid.y * ${groups}u)`,
  });

  const a = new Bindings(ctx);
  const y = a.output(node, 0);
  const coefIn = a.scratch(coefs, 'in');
  const ax = a.input(ctx, node, F.x);
  const ady = forward ? (node.inputs.length > F.side ? { side: a.input(ctx, node, F.side) } : {}) : { dy: a.input(ctx, node, G.dy) };
  const grid = applyGrid(layout);
  const relu = forward && withDefaults(getOp(node.op), node.attrs).activation === 'relu';
  const third = render('batch-norm-apply', { ...a.header([], { quads: grid.quads }), ...ady, ...grid, wg: ELEMENTWISE_WORKGROUP, forward, relu, x: ax, y, coef: coefIn });

  return [
    { name: node.name, wgsl: first, entryPoint: 'main', workgroupSize: [PARTIAL_WG, 1, 1], dispatch: [split.G, 1, 1], operands: p.operands, quads: split.quads },
    { name: node.name, wgsl: second, entryPoint: 'main', workgroupSize: [lanes, 1, 1], dispatch: [groups, Math.ceil(C / groups), 1], operands: f.operands },
    { name: node.name, wgsl: third, entryPoint: 'main', workgroupSize: [ELEMENTWISE_WORKGROUP, 1, 1], dispatch: grid.dispatch, operands: a.operands, quads: grid.quads },
  ];
}

/** batchNormTraining: batch statistics per channel, then y = x·scale + shift (and its relu, when fused). */
export function lowerBatchNormTraining(node: Node, ctx: LowerContext): KernelSpec[] {
  return lowerBatchNormPasses(node, ctx, true);
}

/** batchNormTrainingGrad: Σ dy and Σ dy·(x − mean) per channel, then dx = a·dy + b·x + e. */
export function lowerBatchNormTrainingGrad(node: Node, ctx: LowerContext): KernelSpec[] {
  return lowerBatchNormPasses(node, ctx, false);
}
