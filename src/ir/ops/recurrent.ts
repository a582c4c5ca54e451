/**
 * rnnSequence: a whole recurrent layer (SimpleRNN, LSTM or GRU) over every time step, kept whole so
 * the time loop compiles to one kernel. The math is Keras's (TF.js layers' `rnn` and cells).
 */
import type { OpDef } from '../registry.js';
import type { Attrs, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { uniform } from '../random.js';
import { UNARY } from './unary.js';
import { stepSeed } from './dropout.js';
import { attrBool, attrEnum, attrFloat, attrInt, attrString, defineOp, dimsCompatible, expectBoolScalar, expectDtype, expectRank, fail, tensor } from './common.js';
import { alloc } from './indexing.js';

/** The cells rnnSequence runs. */
export const RNN_CELLS = ['simple', 'lstm', 'gru'] as const;
export type RnnCell = (typeof RNN_CELLS)[number];

/** Gates per cell: the kernel holds this many blocks of `units` columns (LSTM i,f,c,o; GRU z,r,h). */
export const RNN_GATES: Readonly<Record<RnnCell, number>> = { simple: 1, lstm: 4, gru: 3 };

/** Activations a recurrent cell may use: 'linear' plus every float unary op without an attr. */
export function rnnActivation(name: string): (x: number) => number {
  if (name === 'linear') return (x) => x;
  const row = UNARY[name];
  if (!row || row.alpha !== undefined || row.dtype) fail('rnnSequence', `activation '${name}' is not a recurrent activation (use linear or a float unary op such as tanh, sigmoid, hardSigmoid, relu)`);
  return (x) => row.fn(x, 0);
}

/** The decoded attrs of an rnnSequence node, and the position of each optional input. */
export interface RnnLayout {
  readonly cell: RnnCell;
  readonly gates: number;
  readonly activation: string;
  readonly recurrentActivation: string;
  readonly goBackwards: boolean;
  readonly returnSequences: boolean;
  readonly resetAfter: boolean;
  readonly dropout: number;
  readonly recurrentDropout: number;
  readonly seed: number;
  /** Input index of each optional input, or -1 when absent. */
  readonly bias: number;
  readonly h0: number;
  readonly c0: number;
  readonly mask: number;
  readonly training: number;
  readonly step: number;
  /** Number of states: 2 for LSTM (h, c), else 1. */
  readonly states: number;
}

const OP = 'rnnSequence';

/** Reads an rnnSequence node's attrs; optional inputs follow x, kernel, recurrentKernel in a fixed order. */
export function rnnLayout(attrs: Attrs, inputCount?: number): RnnLayout {
  const cell = attrEnum(OP, attrs, 'cell', RNN_CELLS);
  const states = cell === 'lstm' ? 2 : 1;
  const dropout = attrFloat(OP, attrs, 'dropout');
  const recurrentDropout = attrFloat(OP, attrs, 'recurrentDropout');
  let next = 3;
  const take = (present: boolean) => (present ? next++ : -1);
  const bias = take(attrBool(OP, attrs, 'hasBias'));
  const hasState = attrBool(OP, attrs, 'hasInitialState');
  const h0 = take(hasState);
  const c0 = take(hasState && states === 2);
  const mask = take(attrBool(OP, attrs, 'hasMask'));
  const training = take(dropout > 0 || recurrentDropout > 0);
  const step = training >= 0 && inputCount !== undefined && inputCount > next ? next++ : -1;
  if (inputCount !== undefined && inputCount !== next) {
    fail(OP, `expects ${next}${training >= 0 ? ` or ${next + 1}` : ''} inputs for these attributes (x, kernel, recurrentKernel${bias >= 0 ? ', bias' : ''}${h0 >= 0 ? ', initial state(s)' : ''}${mask >= 0 ? ', mask' : ''}${training >= 0 ? ', training[, step]' : ''}), got ${inputCount}`);
  }
  return {
    cell, gates: RNN_GATES[cell], states, bias, h0, c0, mask, training, step, dropout, recurrentDropout,
    activation: attrString(OP, attrs, 'activation'),
    recurrentActivation: attrString(OP, attrs, 'recurrentActivation'),
    goBackwards: attrBool(OP, attrs, 'goBackwards'),
    returnSequences: attrBool(OP, attrs, 'returnSequences'),
    resetAfter: cell === 'gru' && attrBool(OP, attrs, 'resetAfter'),
    seed: attrInt(OP, attrs, 'seed'),
  };
}

/** Attribute schema shared by rnnSequence and its gradient. */
export const RNN_ATTRS = {
  cell: { kind: 'string', oneOf: RNN_CELLS },
  activation: { kind: 'string', default: 'tanh' },
  recurrentActivation: { kind: 'string', default: 'hardSigmoid' },
  goBackwards: { kind: 'bool', default: false },
  returnSequences: { kind: 'bool', default: false },
  resetAfter: { kind: 'bool', default: false },
  hasBias: { kind: 'bool', default: true },
  hasInitialState: { kind: 'bool', default: false },
  hasMask: { kind: 'bool', default: false },
  dropout: { kind: 'float', default: 0 },
  recurrentDropout: { kind: 'float', default: 0 },
  seed: { kind: 'int', default: 0 },
} as const;

/** Checks every input of an rnnSequence node; returns the forward output types. */
export function inferRnn(inputs: readonly TensorType[], attrs: Attrs): TensorType[] {
  const L = rnnLayout(attrs, inputs.length);
  rnnActivation(L.activation);
  rnnActivation(L.recurrentActivation);
  const [x, kernel, rec] = inputs;
  expectRank(OP, 'x', x, 3);
  expectDtype(OP, 'x', x, 'float');
  const [batch, time, features] = x.shape;
  expectRank(OP, 'recurrentKernel', rec, 2);
  const units = rec.shape[0];
  if (units === null) fail(OP, `recurrentKernel must have a known shape, got ${formatShape(rec.shape)}`);
  const cols = units * L.gates;
  const want = (role: string, t: TensorType, shape: (number | null)[]) => {
    if (t.dtype !== x.dtype) fail(OP, `${role} must be ${x.dtype} like x, got ${t.dtype}`);
    if (t.shape.length !== shape.length || !t.shape.every((d, i) => dimsCompatible(d, shape[i]))) {
      fail(OP, `${role} must have shape ${formatShape(shape)} (cell '${L.cell}', ${units} units, ${features} features), got ${formatShape(t.shape)}`);
    }
  };
  want('kernel', kernel, [features, cols]);
  want('recurrentKernel', rec, [units, cols]);
  if (L.bias >= 0) want('bias', inputs[L.bias], L.resetAfter ? [2, cols] : [cols]);
  if (L.h0 >= 0) want('initial h', inputs[L.h0], [batch, units]);
  if (L.c0 >= 0) want('initial c', inputs[L.c0], [batch, units]);
  if (L.mask >= 0) {
    const m = inputs[L.mask];
    expectDtype(OP, 'mask', m, 'bool');
    if (m.shape.length !== 2 || !dimsCompatible(m.shape[0], batch) || !dimsCompatible(m.shape[1], time)) fail(OP, `mask must have shape ${formatShape([batch, time])}, got ${formatShape(m.shape)}`);
  }
  if (L.training >= 0) {
    expectBoolScalar(OP, 'training', inputs[L.training]);
    if (!(L.dropout < 1 && L.recurrentDropout < 1 && L.dropout >= 0 && L.recurrentDropout >= 0)) fail(OP, `dropout rates must be in [0, 1), got ${L.dropout} and ${L.recurrentDropout}`);
  }
  if (L.step >= 0) expectDtype(OP, 'step', inputs[L.step], 'float');
  const y = tensor(L.returnSequences ? [batch, time, units] : [batch, units], x.dtype);
  const state = tensor([batch, units], x.dtype);
  return L.states === 2 ? [y, state, state] : [y, state];
}

/**
 * What an rnnSequence with `record` also returns for its gradient, so that rnnSequenceGrad (`recorded`)
 * need not run the recurrence again: per step t (processing order), the state h the gates read
 * (recurrent dropout applied) [T, B, U]; the gate pre-activations [T, B, G], where a resetAfter GRU's h
 * gate holds only x·W_h + b_h; an LSTM's c before each step and after the last [T + 1, B, U]; a
 * resetAfter GRU's recurrent h-gate term h·R_h + b_rh [T, B, U].
 */
export function rnnRecordShapes(L: RnnLayout, B: number, T: number, U: number): number[][] {
  const G = L.gates * U;
  return [[T, B, U], [T, B, G], ...(L.cell === 'lstm' ? [[T + 1, B, U]] : []), ...(L.resetAfter ? [[T, B, U]] : [])];
}

/** The records of a forward run (see rnnRecordShapes), from its trace. */
function rnnRecords(L: RnnLayout, inputs: readonly NDArray[], d: RnnDims, tr: RnnTrace): Float64Array[] {
  const { B, T, U } = d;
  const G = L.gates * U;
  const ract = rnnActivation(L.recurrentActivation);
  const maskH = rnnDropoutMasks(L, inputs, d).h;
  const hm = new Float64Array(T * B * U);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let u = 0; u < U; u++) hm[(t * B + b) * U + u] = tr.h[(t * B + b) * U + u] * (maskH ? maskH[b * U + u] : 1);
  const z = tr.z.slice();
  if (L.resetAfter) {
    for (let r = 0; r < T * B; r++) for (let u = 0; u < U; u++) z[r * G + 2 * U + u] -= ract(tr.z[r * G + U + u]) * tr.innerH[r * U + u];
  }
  return [hm, z, ...(L.cell === 'lstm' ? [tr.c] : []), ...(L.resetAfter ? [tr.innerH] : [])];
}

/** Concrete sizes of one rnnSequence run. */
export interface RnnDims {
  readonly B: number;
  readonly T: number;
  readonly F: number;
  readonly U: number;
}

/** Per-(row, feature) dropout multipliers, fixed over time as Keras's cells keep them: null when not training. */
export function rnnDropoutMasks(L: RnnLayout, inputs: readonly NDArray[], d: RnnDims): { x: Float64Array | null; h: Float64Array | null } {
  const training = L.training >= 0 && inputs[L.training].data[0] !== 0;
  const step = L.step >= 0 ? Math.round(inputs[L.step].data[0]) : 0;
  const make = (rate: number, seed: number, n: number) => {
    if (!training || rate === 0) return null;
    const s = stepSeed(seed, step);
    const m = new Float64Array(n);
    for (let i = 0; i < n; i++) m[i] = uniform(s, i) >= rate ? 1 / (1 - rate) : 0;
    return m;
  };
  return { x: make(L.dropout, L.seed, d.B * d.F), h: make(L.recurrentDropout, (L.seed + 1) >>> 0, d.B * d.U) };
}

/** Everything one forward run computed, kept for the backward pass (per step, in processing order). */
export interface RnnTrace {
  /** Pre-activation gate values [T, B, G·U] (for GRU resetAfter=false, the h gate's recurrent part is r·h·R). */
  readonly z: Float64Array;
  /** GRU resetAfter: the recurrent h-gate term h·R_h + b_rh [T, B, U], before r multiplies it. */
  readonly innerH: Float64Array;
  /** States before each step: h [T+1, B, U] (index t is the state step t reads), c likewise for LSTM. */
  readonly h: Float64Array;
  readonly c: Float64Array;
  /** Whether step t updated row b [T, B]. */
  readonly live: Uint8Array;
}

/** Runs the recurrence in float64; returns the trace (the forward outputs are read off it). */
export function runRnn(L: RnnLayout, inputs: readonly NDArray[], d: RnnDims): RnnTrace {
  const { B, T, F, U } = d;
  const G = L.gates * U;
  const [x, W, R] = inputs.map((a) => a.data);
  const bias = L.bias >= 0 ? inputs[L.bias].data : null;
  const act = rnnActivation(L.activation);
  const ract = rnnActivation(L.recurrentActivation);
  const masks = rnnDropoutMasks(L, inputs, d);
  const z = new Float64Array(T * B * G);
  const innerH = new Float64Array(L.resetAfter ? T * B * U : 0);
  const h = new Float64Array((T + 1) * B * U);
  const c = new Float64Array(L.states === 2 ? (T + 1) * B * U : 0);
  const live = new Uint8Array(T * B);
  if (L.h0 >= 0) h.set(inputs[L.h0].data);
  if (L.c0 >= 0) c.set(inputs[L.c0].data);
  const xm = new Float64Array(F);
  const hm = new Float64Array(U);
  const rec = new Float64Array(G);
  for (let t = 0; t < T; t++) {
    const tt = L.goBackwards ? T - 1 - t : t;
    for (let b = 0; b < B; b++) {
      const hPrev = (t * B + b) * U;
      const hNext = hPrev + B * U;
      const zb = (t * B + b) * G;
      const isLive = L.mask < 0 || inputs[L.mask].data[b * T + tt] !== 0;
      live[t * B + b] = isLive ? 1 : 0;
      for (let f = 0; f < F; f++) xm[f] = x[(b * T + tt) * F + f] * (masks.x ? masks.x[b * F + f] : 1);
      for (let u = 0; u < U; u++) hm[u] = h[hPrev + u] * (masks.h ? masks.h[b * U + u] : 1);
      // z = x·W + b (input part); rec = h·R (+ recurrent bias for GRU resetAfter).
      for (let j = 0; j < G; j++) {
        let s = bias ? bias[j] : 0;
        for (let f = 0; f < F; f++) s += xm[f] * W[f * G + j];
        z[zb + j] = s;
        let r = L.resetAfter && bias ? bias[G + j] : 0;
        for (let u = 0; u < U; u++) r += hm[u] * R[u * G + j];
        rec[j] = r;
      }
      if (L.cell === 'simple') {
        for (let u = 0; u < U; u++) {
          z[zb + u] += rec[u];
          h[hNext + u] = act(z[zb + u]);
        }
      } else if (L.cell === 'lstm') {
        for (let j = 0; j < G; j++) z[zb + j] += rec[j];
        for (let u = 0; u < U; u++) {
          const i = ract(z[zb + u]);
          const fg = ract(z[zb + U + u]);
          const cc = fg * c[hPrev + u] + i * act(z[zb + 2 * U + u]);
          c[hNext + u] = cc;
          h[hNext + u] = ract(z[zb + 3 * U + u]) * act(cc);
        }
      } else {
        for (let u = 0; u < 2 * U; u++) z[zb + u] += rec[u];
        if (L.resetAfter) {
          for (let u = 0; u < U; u++) {
            innerH[(t * B + b) * U + u] = rec[2 * U + u];
            z[zb + 2 * U + u] += ract(z[zb + U + u]) * rec[2 * U + u];
          }
        } else {
          for (let j = 0; j < U; j++) {
            let s = 0;
            for (let u = 0; u < U; u++) s += ract(z[zb + U + u]) * hm[u] * R[u * G + 2 * U + j];
            z[zb + 2 * U + j] += s;
          }
        }
        // Keras (TF.js) blends with the recurrent-dropped state.
        for (let u = 0; u < U; u++) {
          const zz = ract(z[zb + u]);
          h[hNext + u] = zz * hm[u] + (1 - zz) * act(z[zb + 2 * U + u]);
        }
      }
      // A masked step carries the previous state (and so the previous output) forward.
      if (!isLive) {
        for (let u = 0; u < U; u++) h[hNext + u] = h[hPrev + u];
        if (L.states === 2) for (let u = 0; u < U; u++) c[hNext + u] = c[hPrev + u];
      }
    }
  }
  return { z, innerH, h, c, live };
}

/** The sizes of a run from its inputs. */
export function rnnDims(inputs: readonly NDArray[]): RnnDims {
  const [B, T, F] = inputs[0].shape;
  return { B, T, F, U: inputs[2].shape[0] };
}

/** Registry row for rnnSequence (docs/ops.md). */
export const recurrentOps: OpDef[] = [
  defineOp({
    name: OP,
    arity: [3, 10],
    attrs: { ...RNN_ATTRS, record: { kind: 'bool', default: false } },
    infer: (inputs, attrs) => {
      const outs = inferRnn(inputs, attrs);
      if (attrs.record !== true) return outs;
      const L = rnnLayout(attrs, inputs.length);
      const [B, T] = inputs[0].shape;
      const U = inputs[2].shape[0];
      if (B === null || T === null || U === null) fail(OP, `record needs a static batch and sequence length, got x ${formatShape(inputs[0].shape)}`);
      return [...outs, ...rnnRecordShapes(L, B, T, U).map((shape) => tensor(shape, inputs[0].dtype))];
    },
    reference: (inputs, attrs, ctx) => {
      const L = rnnLayout(attrs, inputs.length);
      const d = rnnDims(inputs);
      const { B, T, U } = d;
      const tr = runRnn(L, inputs, d);
      const dtype = inputs[0].dtype;
      const y = alloc(ctx, L.returnSequences ? [B, T, U] : [B, U], dtype);
      if (L.returnSequences) {
        for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let u = 0; u < U; u++) y.data[(b * T + t) * U + u] = tr.h[((t + 1) * B + b) * U + u];
      } else y.data.set(tr.h.subarray(T * B * U));
      const hT = alloc(ctx, [B, U], dtype);
      hT.data.set(tr.h.subarray(T * B * U));
      const outs = [y, hT];
      if (L.states === 2) {
        const cT = alloc(ctx, [B, U], dtype);
        cT.data.set(tr.c.subarray(T * B * U));
        outs.push(cT);
      }
      if (attrs.record !== true) return outs;
      const shapes = rnnRecordShapes(L, B, T, U);
      return [...outs, ...rnnRecords(L, inputs, d, tr).map((data, k) => {
        const out = alloc(ctx, shapes[k], dtype);
        out.data.set(data);
        return out;
      })];
    },
  }),
];
