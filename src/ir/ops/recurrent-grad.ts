/**
 * rnnSequenceGrad: backpropagation through time for a whole rnnSequence, in one op. It reruns the
 * forward (keeping every step's gates), then walks the steps backwards accumulating weight gradients.
 */
import type { OpDef } from '../registry.js';
import type { Attrs } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { attrBool, defineOp, fail, tensor } from './common.js';
import { alloc } from './indexing.js';
import { RNN_ATTRS, inferRnn, rnnActivation, rnnDims, rnnDropoutMasks, rnnLayout, rnnRecordShapes, runRnn, type RnnLayout } from './recurrent.js';
import { formatShape } from '../errors.js';

const OP = 'rnnSequenceGrad';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Derivative of each recurrent activation at its input x (the subgradient 0 at kinks, as TF). */
const DERIVATIVES: Readonly<Record<string, (x: number) => number>> = {
  linear: () => 1,
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x) => sigmoid(x) * (1 - sigmoid(x)),
  hardSigmoid: (x) => (x > -2.5 && x < 2.5 ? 0.2 : 0),
  relu: (x) => (x > 0 ? 1 : 0),
  relu6: (x) => (x > 0 && x < 6 ? 1 : 0),
  softsign: (x) => 1 / (1 + Math.abs(x)) ** 2,
  softplus: (x) => sigmoid(x),
  swish: (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x))),
};

/** The derivative of a recurrent activation, or a ShapeError naming the ones with gradients. */
export function rnnActivationDerivative(name: string): (x: number) => number {
  const d = DERIVATIVES[name];
  if (!d) fail(OP, `no gradient for recurrent activation '${name}' (have: ${Object.keys(DERIVATIVES).join(', ')})`);
  return d;
}

/** Which gradients of the forward outputs are given (after the forward inputs, in this order). */
export function gradLayout(attrs: Attrs): { dy: boolean; dh: boolean; dc: boolean } {
  return { dy: attrBool(OP, attrs, 'hasDy'), dh: attrBool(OP, attrs, 'hasDh'), dc: attrBool(OP, attrs, 'hasDc') };
}

/** The forward inputs that get a gradient, by input index: x, kernel, recurrentKernel, bias, h0, c0. */
export function differentiableInputs(L: RnnLayout): number[] {
  return [0, 1, 2, L.bias, L.h0, L.c0].filter((i) => i >= 0);
}

/** The records of the forward (rnnRecordShapes) that follow the output gradients when `recorded`. */
export function recordCount(attrs: Attrs): number {
  // Raw attrs (defaults not filled in): both flags default to false.
  if (attrs.recorded !== true) return 0;
  return 2 + Number(attrs.cell === 'lstm') + Number(attrs.cell === 'gru' && attrs.resetAfter === true);
}

/** How many of the node's inputs are the forward's (the rest: output gradients, then records). */
export function forwardCount(inputCount: number, attrs: Attrs): number {
  const g = gradLayout(attrs);
  return inputCount - Number(g.dy) - Number(g.dh) - Number(g.dc) - recordCount(attrs);
}

/** The backward pass: gradients of every differentiable forward input, as float64 arrays. */
function backprop(L: RnnLayout, inputs: readonly NDArray[], grads: { dy?: NDArray; dh?: NDArray; dc?: NDArray }): Float64Array[] {
  const d = rnnDims(inputs);
  const { B, T, F, U } = d;
  const G = L.gates * U;
  const tr = runRnn(L, inputs, d);
  const [x, W, R] = inputs.map((a) => a.data);
  const masks = rnnDropoutMasks(L, inputs, d);
  const act = rnnActivation(L.activation);
  const ract = rnnActivation(L.recurrentActivation);
  const dAct = rnnActivationDerivative(L.activation);
  const dRact = L.cell === 'simple' ? () => 0 : rnnActivationDerivative(L.recurrentActivation);
  const dx = new Float64Array(B * T * F);
  const dW = new Float64Array(F * G);
  const dR = new Float64Array(U * G);
  const db = new Float64Array(L.resetAfter ? 2 * G : G);
  const dh = new Float64Array(B * U);
  const dc = new Float64Array(B * U);
  if (grads.dh) dh.set(grads.dh.data);
  if (grads.dc) dc.set(grads.dc.data);
  if (grads.dy && !L.returnSequences) for (let i = 0; i < B * U; i++) dh[i] += grads.dy.data[i];
  const xm = new Float64Array(F);
  const hm = new Float64Array(U);
  const dzIn = new Float64Array(G); // gradient of the input-side pre-activations x·W + b
  const dzRec = new Float64Array(G); // gradient of the recurrent-side products h·R (+ b for resetAfter)
  const dhm = new Float64Array(U);
  for (let t = T - 1; t >= 0; t--) {
    const tt = L.goBackwards ? T - 1 - t : t;
    for (let b = 0; b < B; b++) {
      const dhb = b * U;
      if (grads.dy && L.returnSequences) for (let u = 0; u < U; u++) dh[dhb + u] += grads.dy.data[(b * T + t) * U + u];
      // A masked step copied its state: the gradient passes through unchanged.
      if (!tr.live[t * B + b]) continue;
      const hPrev = (t * B + b) * U;
      const hNext = hPrev + B * U;
      const zb = (t * B + b) * G;
      const z = tr.z;
      for (let f = 0; f < F; f++) xm[f] = x[(b * T + tt) * F + f] * (masks.x ? masks.x[b * F + f] : 1);
      for (let u = 0; u < U; u++) hm[u] = tr.h[hPrev + u] * (masks.h ? masks.h[b * U + u] : 1);
      dhm.fill(0);
      if (L.cell === 'simple') {
        for (let u = 0; u < U; u++) dzIn[u] = dzRec[u] = dh[dhb + u] * dAct(z[zb + u]);
      } else if (L.cell === 'lstm') {
        for (let u = 0; u < U; u++) {
          const [zi, zf, zc, zo] = [z[zb + u], z[zb + U + u], z[zb + 2 * U + u], z[zb + 3 * U + u]];
          const c = tr.c[hNext + u];
          const g = dh[dhb + u];
          const dcTotal = dc[dhb + u] + g * ract(zo) * dAct(c);
          dzIn[u] = dcTotal * act(zc) * dRact(zi);
          dzIn[U + u] = dcTotal * tr.c[hPrev + u] * dRact(zf);
          dzIn[2 * U + u] = dcTotal * ract(zi) * dAct(zc);
          dzIn[3 * U + u] = g * act(c) * dRact(zo);
          dc[dhb + u] = dcTotal * ract(zf);
        }
        dzRec.set(dzIn);
      } else {
        for (let u = 0; u < U; u++) {
          const g = dh[dhb + u];
          const zz = ract(z[zb + u]);
          const hh = act(z[zb + 2 * U + u]);
          dzIn[u] = dzRec[u] = g * (hm[u] - hh) * dRact(z[zb + u]);
          dzIn[2 * U + u] = g * (1 - zz) * dAct(z[zb + 2 * U + u]);
          dhm[u] += g * zz;
        }
        if (L.resetAfter) {
          for (let u = 0; u < U; u++) {
            const r = ract(z[zb + U + u]);
            const inner = tr.innerH[(t * B + b) * U + u];
            dzRec[2 * U + u] = dzIn[2 * U + u] * r;
            dzIn[U + u] = dzRec[U + u] = dzIn[2 * U + u] * inner * dRact(z[zb + U + u]);
          }
        } else {
          // z_h's recurrent part is (r ⊙ h)·R_h: its gradients go to R_h, r and h here, not through dzRec.
          for (let u = 0; u < U; u++) {
            let s = 0;
            for (let j = 0; j < U; j++) s += dzIn[2 * U + j] * R[u * G + 2 * U + j];
            const r = ract(z[zb + U + u]);
            dhm[u] += s * r;
            dzIn[U + u] = dzRec[U + u] = s * hm[u] * dRact(z[zb + U + u]);
            for (let j = 0; j < U; j++) dR[u * G + 2 * U + j] += r * hm[u] * dzIn[2 * U + j];
          }
          dzRec.fill(0, 2 * U, 3 * U);
        }
      }
      for (let j = 0; j < G; j++) {
        const gi = dzIn[j];
        const gr = dzRec[j];
        db[j] += gi;
        if (L.resetAfter) db[G + j] += gr;
        for (let f = 0; f < F; f++) dW[f * G + j] += xm[f] * gi;
        for (let u = 0; u < U; u++) dR[u * G + j] += hm[u] * gr;
      }
      for (let f = 0; f < F; f++) {
        let s = 0;
        for (let j = 0; j < G; j++) s += dzIn[j] * W[f * G + j];
        dx[(b * T + tt) * F + f] += s * (masks.x ? masks.x[b * F + f] : 1);
      }
      for (let u = 0; u < U; u++) {
        let s = dhm[u];
        for (let j = 0; j < G; j++) s += dzRec[j] * R[u * G + j];
        dh[dhb + u] = s * (masks.h ? masks.h[b * U + u] : 1);
      }
    }
  }
  const all: Record<number, Float64Array> = { 0: dx, 1: dW, 2: dR };
  if (L.bias >= 0) all[L.bias] = db;
  if (L.h0 >= 0) all[L.h0] = dh;
  if (L.c0 >= 0) all[L.c0] = dc;
  return differentiableInputs(L).map((i) => all[i]);
}

/** Registry row for rnnSequenceGrad: forward inputs, then dy, dhT, dcT as `hasDy`/`hasDh`/`hasDc` say. */
export const recurrentGradOps: OpDef[] = [
  defineOp({
    name: OP,
    arity: [4, 17],
    attrs: { ...RNN_ATTRS, hasDy: { kind: 'bool', default: true }, hasDh: { kind: 'bool', default: false }, hasDc: { kind: 'bool', default: false }, recorded: { kind: 'bool', default: false } },
    infer: (inputs, attrs) => {
      const n = forwardCount(inputs.length, attrs);
      const fwd = inputs.slice(0, n);
      const outs = inferRnn(fwd, attrs);
      const g = gradLayout(attrs);
      const given = [g.dy ? outs[0] : null, g.dh ? outs[1] : null, g.dc ? (outs[2] ?? fail(OP, 'hasDc needs an LSTM')) : null].filter((t) => t !== null);
      given.forEach((want, i) => {
        const got = inputs[n + i];
        if (got.shape.length !== want!.shape.length) fail(OP, `output gradient ${i} must have the shape of the forward output, rank ${want!.shape.length}, got rank ${got.shape.length}`);
      });
      const L = rnnLayout(attrs, n);
      const records = inputs.slice(n + given.length);
      if (records.length) {
        const [B, T] = fwd[0].shape;
        const U = fwd[2].shape[0];
        if (B === null || T === null || U === null) fail(OP, `recorded needs a static batch and sequence length, got x ${formatShape(fwd[0].shape)}`);
        rnnRecordShapes(L, B, T, U).forEach((shape, k) => {
          const got = records[k].shape;
          if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) fail(OP, `record ${k} of the forward must have shape ${formatShape(shape)}, got ${formatShape(got)}`);
        });
      }
      rnnActivationDerivative(L.activation);
      if (L.cell !== 'simple') rnnActivationDerivative(L.recurrentActivation);
      return differentiableInputs(L).map((i) => tensor(fwd[i].shape, fwd[i].dtype));
    },
    reference: (inputs, attrs, ctx) => {
      const n = forwardCount(inputs.length, attrs);
      const fwd = inputs.slice(0, n);
      const L = rnnLayout(attrs, n);
      const g = gradLayout(attrs);
      let k = n;
      const grads = { dy: g.dy ? inputs[k++] : undefined, dh: g.dh ? inputs[k++] : undefined, dc: g.dc ? inputs[k++] : undefined };
      return backprop(L, fwd, grads).map((data, i) => {
        const like = fwd[differentiableInputs(L)[i]];
        const out = alloc(ctx, like.shape, like.dtype);
        out.data.set(data);
        return out;
      });
    },
  }),
];
