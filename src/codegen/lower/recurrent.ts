/**
 * rnnSequence on the GPU: the whole time loop in one dispatch, one workgroup per batch row with the
 * state in workgroup memory. When the inputs are wide (x·W would not fit beside the state) or the
 * units many, the projection x·W + b for every step runs first as one tiled GEMM into scratch, and
 * the loop reads it.
 */
import type { Node } from '../../ir/types.js';
import { getOp, withDefaults } from '../../ir/registry.js';
import { rnnLayout, type RnnLayout } from '../../ir/ops/recurrent.js';
import { STEP_STRIDE } from '../../ir/ops/dropout.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { helpersUsed, UNARY_WGSL, WGSL_HELPERS } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { UnsupportedOpError } from './index.js';
import { experimentEnv } from '../experiment-env.js';
import { MAX_GROUPS } from '../indexing.js';

/**
 * The batch from which the loop kernel takes 8, 4 or 2 rows per workgroup (still filling a large GPU's
 * units). Eight: the bench LSTM's forward at batch 4096 took 0.173 against 0.191 ms with four, and at
 * batch 256 0.081 against 0.047 (H100, `…-session11-lstm-rows-per-workgroup.log`).
 */
const ROWS_PER_WORKGROUP_FROM: Record<number, number> = { 8: 4096, 4: 512, 2: 256, 1: 0 };

/** Workgroups along x and y for `n` of them. */
export const grid = (n: number): [number, number] => (n > MAX_GROUPS ? [MAX_GROUPS, Math.ceil(n / MAX_GROUPS)] : [n, 1]);

/** Floats of workgroup memory a kernel may use (WebGPU guarantees 16 KiB). */
const SHARED_FLOATS = 3840;
/** From this many units, x·W for all steps runs first as one GEMM. */
export const PROJECT_UNITS = 128;

/** `KILN_RNN_PROJECT=1|0` forces the projection GEMM on or off, for experiments (Node only). */
function projectionForced(): boolean | undefined {
  const v = experimentEnv('KILN_RNN_PROJECT');
  return v === '1' ? true : v === '0' ? false : undefined;
}

/** WGSL of an activation applied to `x`. */
export function activationWgsl(name: string): string {
  if (name === 'linear') return 'x';
  const row = UNARY_WGSL[name];
  if (!row) throw new UnsupportedOpError(`rnnSequence: activation '${name}' has no WGSL form`, { activation: name });
  return row.replace(/\{x\}/g, 'x');
}

/** Renders a template twice: the second time with the helper functions the first text calls. */
export function renderWithHelpers(name: string, b: Bindings, data: Record<string, unknown>): string {
  const first = render(name, { ...b.header(), ...data });
  return render(name, { ...b.header(helpersUsed(first).map((h) => WGSL_HELPERS[h])), ...data });
}

/** The per-step dropout seed expression (the node's seed advanced by the step counter, as the interpreter). */
export function seedWgsl(seed: number, step: string | undefined): string {
  return step ? `(${seed >>> 0}u + u32(round(${step}(0u))) * ${STEP_STRIDE}u)` : `${seed >>> 0}u`;
}

/** Whether dropout can be on at run time: a training input that is not the constant false inference folds it to. */
export function dropoutLive(node: Node, ctx: LowerContext, L: RnnLayout): boolean {
  if (L.training < 0) return false;
  const flag = ctx.graph.nodes.find((n) => n.id === node.inputs[L.training].node);
  return !(flag?.op === 'constant' && (flag.attrs.value as number[]).every((v) => v === 0));
}

/** Sizes and launch shape of a recurrent node's kernels. */
export interface RnnGeometry {
  readonly B: number;
  readonly T: number;
  readonly F: number;
  readonly U: number;
  readonly G: number;
  /** Lanes per workgroup. */
  readonly wg: number;
  /** Workgroups along x and y (one per batch row). */
  readonly rows: readonly [number, number];
  /** Batch rows per workgroup of the forward loop kernel. */
  readonly rpw: number;
  /** Whether x·W runs first as a GEMM. */
  readonly projected: boolean;
  /**
   * The forward kernels; `record` binds where each step's records go: scratch instead of the node's
   * outputs (`replay`, rnnSequenceGrad without records), or the node's record outputs beside the others.
   */
  forwardKernels(node: Node, ctx: LowerContext, L: RnnLayout, record?: (b: Bindings) => Record<string, unknown>): KernelSpec[];
}

/** The geometry of a recurrent node (forward or gradient: the forward inputs come first in both). */
export function rnnKernelGeometry(node: Node, ctx: LowerContext, L: RnnLayout): RnnGeometry {
  const [B, T, F] = ctx.type(node.inputs[0]).shape as number[];
  const U = ctx.type(node.inputs[2]).shape[0] as number;
  const G = L.gates * U;
  // Workgroup memory of the loop kernel: the gates, h, and c (LSTM), r·h (GRU), the dropped h (recurrent dropout).
  const stateFloats = G + U * (1 + Number(L.cell !== 'simple') + Number(dropoutLive(node, ctx, L) && L.recurrentDropout > 0));
  if (stateFloats > SHARED_FLOATS) {
    throw new UnsupportedOpError(`node '${node.name}': ${node.op} with ${U} units needs ${stateFloats} floats of workgroup memory, more than the ${SHARED_FLOATS} kiln uses`, { node: node.name });
  }
  // Wide inputs do not fit beside the state; with many units the per-step x·W would dominate the serial loop.
  const projected = projectionForced() ?? (F + stateFloats > SHARED_FLOATS || U >= PROJECT_UNITS);
  const wg = Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(G, 1)))));
  const rows = grid(B);
  // Large batches put several rows in one workgroup, so each weight read from memory serves them all.
  const perRow = (projected ? 0 : F) + stateFloats;
  const rpw = [8, 4, 2, 1].find((r) => B >= ROWS_PER_WORKGROUP_FROM[r] && r * perRow <= SHARED_FLOATS) ?? 1;
  const geo: RnnGeometry = { B, T, F, U, G, wg, rows, rpw, projected, forwardKernels: (n, c, l, record) => forwardKernels(n, c, l, geo, record) };
  return geo;
}

/** The projection GEMM (when projected) and the loop kernel of a forward pass. */
function forwardKernels(node: Node, ctx: LowerContext, L: RnnLayout, geo: RnnGeometry, record?: (b: Bindings) => Record<string, unknown>): KernelSpec[] {
  const { B, T, F, U, G, wg, rpw, projected } = geo;
  const loopRows = grid(Math.ceil(B / rpw));
  // Inference folds the training flag to false: the masks (a hash per unit and step) are left out entirely.
  const dropout = dropoutLive(node, ctx, L);
  const common = {
    B, T, F, U, G, wg,
    inRate: L.dropout, inScale: 1 / (1 - L.dropout), recRate: L.recurrentDropout, recScale: 1 / (1 - L.recurrentDropout),
    inDropout: dropout && L.dropout > 0, recDropout: dropout && L.recurrentDropout > 0, dropout,
  };
  const kernels: KernelSpec[] = [];
  let xpScratch: ReturnType<LowerContext['scratch']> | undefined;
  if (projected) {
    xpScratch = ctx.scratch(4 * B * T * G);
    const p = new Bindings(ctx);
    const xp = p.scratch(xpScratch, 'out');
    const x = p.input(ctx, node, 0);
    const W = p.input(ctx, node, 1);
    const bias = L.bias >= 0 ? p.input(ctx, node, L.bias) : '';
    const training = common.inDropout ? p.input(ctx, node, L.training) : '';
    const step = common.inDropout && L.step >= 0 ? p.input(ctx, node, L.step) : undefined;
    const wgsl = renderWithHelpers('rnn-projection', p, { ...common, rows: B * T, x, W, xp, bias, training, seedX: seedWgsl(L.seed, step) });
    kernels.push({ name: `${node.name}/projection`, wgsl, entryPoint: 'main', workgroupSize: [16, 16, 1], dispatch: [Math.ceil(G / 16), Math.ceil((B * T) / 16), 1], operands: p.operands });
  }
  const b = new Bindings(ctx);
  const replay = !!record && node.op === 'rnnSequenceGrad';
  const finals = replay ? { y: '', hT: '', cT: '' } : { y: b.output(node, 0), hT: b.output(node, 1), cT: L.states === 2 ? b.output(node, 2) : '' };
  const outs = { ...finals, writeOutputs: !replay, record: false, hmRec: '', zRec: '', cRec: '', auxRec: '', ...record?.(b) };
  const xp = xpScratch ? b.scratch(xpScratch, 'in') : '';
  const x = projected ? '' : b.input(ctx, node, 0);
  const W = projected ? '' : b.input(ctx, node, 1);
  const R = b.input(ctx, node, 2);
  const bias = L.bias >= 0 ? b.input(ctx, node, L.bias) : '';
  const h0 = L.h0 >= 0 ? b.input(ctx, node, L.h0) : '';
  const c0 = L.c0 >= 0 ? b.input(ctx, node, L.c0) : '';
  const mask = L.mask >= 0 ? b.input(ctx, node, L.mask) : '';
  const training = dropout ? b.input(ctx, node, L.training) : '';
  const step = L.step >= 0 ? b.input(ctx, node, L.step) : undefined;
  const wgsl = renderWithHelpers('rnn-sequence', b, {
    ...common, ...outs, projected, rowStride: loopRows[0], rpw, xsSize: rpw * F, gsSize: rpw * G, usSize: rpw * U,
    simple: L.cell === 'simple', lstm: L.cell === 'lstm', gru: L.cell === 'gru', resetAfter: L.resetAfter, gruBefore: L.cell === 'gru' && !L.resetAfter,
    backwards: L.goBackwards, sequences: L.returnSequences && !replay,
    act: activationWgsl(L.activation), ract: activationWgsl(L.recurrentActivation),
    x, W, R, xp, bias, h0, c0, mask, training, hm: common.recDropout ? 'hms' : 'hs',
    seedX: seedWgsl(L.seed, step), seedH: seedWgsl((L.seed + 1) >>> 0, step),
  });
  kernels.push({ name: replay ? `${node.name}/replay` : node.name, wgsl, entryPoint: 'main', workgroupSize: [wg, 1, 1], dispatch: [loopRows[0], loopRows[1], 1], operands: b.operands });
  return kernels;
}

/**
 * Lowers one rnnSequence node to one kernel (narrow inputs, few units) or a projection GEMM plus the loop
 * kernel; with `record`, the loop kernel also writes the records (rnnRecordShapes) to the outputs after cT.
 */
export function lowerRecurrent(node: Node, ctx: LowerContext): KernelSpec[] {
  const attrs = withDefaults(getOp(node.op), node.attrs);
  const L = rnnLayout(attrs, node.inputs.length);
  const geo = rnnKernelGeometry(node, ctx, L);
  if (!attrs.record) return geo.forwardKernels(node, ctx, L);
  return geo.forwardKernels(node, ctx, L, (b) => {
    let k = 1 + L.states;
    return {
      record: true,
      hmRec: b.output(node, k++), zRec: b.output(node, k++),
      cRec: L.cell === 'lstm' ? b.output(node, k++) : '', auxRec: L.resetAfter ? b.output(node, k++) : '',
    };
  });
}
