/**
 * Scaled dot-product attention kept whole (scores, mask, softmax, weighted sum), so a kernel can run
 * it with an online softmax and never hold the score matrix.
 */
import type { OpDef } from '../registry.js';
import type { Attrs, Dim, TensorType } from '../types.js';
import type { NDArray } from '../ndarray.js';
import { formatShape } from '../errors.js';
import { attrBool, attrFloat, defineOp, dimsCompatible, expectDtype, expectRank, fail, tensor } from './common.js';
import { alloc, broadcastMap, broadcastShapes, at } from './indexing.js';

/**
 * What a masked score becomes, as Keras 3's Softmax does with a mask (its large negative for float32).
 * Keras 2 added it instead: the same weights unless a row is fully masked, which here is exactly uniform.
 */
export const MASKED_SCORE = -1e9;

/** The sizes of an attention node: batch, query length, key length, heads, key depth, value depth. */
export interface AttentionDims {
  readonly batch: Dim;
  readonly tq: Dim;
  readonly tk: Dim;
  readonly heads: Dim;
  readonly depth: Dim;
  readonly valueDepth: Dim;
}

/** Checks the operands of an attention node and returns its sizes. */
export function attentionDims(inputs: readonly TensorType[]): AttentionDims {
  const [q, k, v, mask] = inputs;
  const roles = ['query', 'key', 'value'] as const;
  [q, k, v].forEach((t, i) => {
    expectDtype('attention', roles[i], t, 'float');
    expectRank('attention', roles[i], t, 4);
  });
  const same = (a: Dim, b: Dim, what: string) => {
    if (!dimsCompatible(a, b)) fail('attention', `${what} differ: query ${formatShape(q.shape)}, key ${formatShape(k.shape)}, value ${formatShape(v.shape)} (each [batch, time, heads, depth])`);
  };
  same(q.shape[0], k.shape[0], 'batch sizes');
  same(k.shape[0], v.shape[0], 'batch sizes');
  same(q.shape[2], k.shape[2], 'head counts');
  same(k.shape[2], v.shape[2], 'head counts');
  same(q.shape[3], k.shape[3], 'query and key depths');
  same(k.shape[1], v.shape[1], 'key and value lengths');
  const dims = { batch: q.shape[0] ?? k.shape[0], tq: q.shape[1], tk: k.shape[1], heads: q.shape[2], depth: q.shape[3], valueDepth: v.shape[3] };
  if (mask) {
    expectDtype('attention', 'mask', mask, 'float');
    if (mask.shape.length > 3) fail('attention', `mask ${formatShape(mask.shape)} must broadcast to [batch, query time, key time] = ${formatShape([dims.batch, dims.tq, dims.tk])}`);
    const b = broadcastShapes('attention', [mask.shape, [dims.batch, dims.tq, dims.tk]], ['mask', 'scores [batch, query time, key time]']);
    if (!dimsCompatible(b[1], dims.tq) || !dimsCompatible(b[2], dims.tk)) fail('attention', `mask ${formatShape(mask.shape)} is larger than the scores ${formatShape([dims.batch, dims.tq, dims.tk])}`);
  }
  return dims;
}

/** Registry rows for attention and its gradient op (docs/ops.md). */
export const attentionOps: OpDef[] = [
  defineOp({
    name: 'attention',
    arity: [3, 4],
    attrs: { scale: { kind: 'float', default: 1 }, causal: { kind: 'bool', default: false } },
    infer: (inputs, attrs) => {
      const d = attentionDims(inputs);
      attrFloat('attention', attrs, 'scale');
      attrBool('attention', attrs, 'causal');
      return [tensor([d.batch, d.tq, d.heads, d.valueDepth], inputs[0].dtype)];
    },
    reference: ([q, k, v, mask], attrs, ctx) => {
      const { B, Tq, H, Tk, Dv, probs } = attentionRows(q, k, v, mask, attrs);
      const out = alloc(ctx, [B, Tq, H, Dv], q.dtype);
      probs((b, i, h, p) => {
        const oRow = ((b * Tq + i) * H + h) * Dv;
        for (let e = 0; e < Dv; e++) {
          let acc = 0;
          for (let j = 0; j < Tk; j++) acc += p[j] * v.data[((b * Tk + j) * H + h) * Dv + e];
          out.data[oRow + e] = acc;
        }
      });
      return [out] as NDArray[];
    },
  }),
  defineOp({
    name: 'attentionGrad',
    arity: [4, 5],
    attrs: { scale: { kind: 'float', default: 1 }, causal: { kind: 'bool', default: false } },
    infer: (inputs, attrs) => {
      const [q, k, v, dO] = inputs;
      const d = attentionDims([q, k, v, ...inputs.slice(4)]);
      const want = [d.batch, d.tq, d.heads, d.valueDepth];
      if (dO.shape.length !== 4 || !dO.shape.every((x, i) => dimsCompatible(x, want[i]))) fail('attentionGrad', `dy ${formatShape(dO.shape)} must be shaped like the attention output ${formatShape(want)}`);
      attrFloat('attentionGrad', attrs, 'scale');
      attrBool('attentionGrad', attrs, 'causal');
      return [tensor(q.shape, q.dtype), tensor(k.shape, k.dtype), tensor(v.shape, v.dtype)];
    },
    reference: ([q, k, v, dO, mask], attrs, ctx) => {
      const { Tq, H, Tk, D, Dv, scale, probs, kept } = attentionRows(q, k, v, mask, attrs);
      const [dq, dk, dv] = [alloc(ctx, q.shape, q.dtype), alloc(ctx, k.shape, k.dtype), alloc(ctx, v.shape, v.dtype)];
      const dp = new Float64Array(Tk);
      probs((b, i, h, p) => {
        const row = (b * Tq + i) * H + h;
        // dP = dO·vᵀ, then dS = P·(dP − Σ P·dP), zero at masked scores (constants).
        let dot = 0;
        for (let j = 0; j < Tk; j++) {
          let s = 0;
          for (let e = 0; e < Dv; e++) s += dO.data[row * Dv + e] * v.data[((b * Tk + j) * H + h) * Dv + e];
          dp[j] = s;
          dot += p[j] * s;
        }
        for (let j = 0; j < Tk; j++) {
          const kRow = (b * Tk + j) * H + h;
          for (let e = 0; e < Dv; e++) dv.data[kRow * Dv + e] += p[j] * dO.data[row * Dv + e];
          if (!kept(b, i, j)) continue;
          const ds = p[j] * (dp[j] - dot);
          for (let d = 0; d < D; d++) {
            dq.data[row * D + d] += ds * k.data[kRow * D + d] * scale;
            dk.data[kRow * D + d] += ds * q.data[row * D + d] * scale;
          }
        }
      });
      return [dq, dk, dv] as NDArray[];
    },
  }),
];

/**
 * The softmax rows of an attention node: `probs(fn)` calls fn(b, i, h, p) with the probabilities
 * p[j] of query i over the keys, computed as attention does; `kept` says whether a score is unmasked.
 */
function attentionRows(q: NDArray, k: NDArray, v: NDArray, mask: NDArray | undefined, attrs: Attrs) {
  const scale = attrFloat('attention', attrs, 'scale');
  const causal = attrBool('attention', attrs, 'causal');
  const [B, Tq, H, D] = q.shape;
  const Tk = k.shape[1];
  const maskAt = mask ? broadcastMap(mask.shape, [B, Tq, Tk]) : null;
  const kept = (b: number, i: number, j: number) => (!causal || j <= i) && (!mask || mask.data[at(maskAt, (b * Tq + i) * Tk + j)] !== 0);
  const probs = (fn: (b: number, i: number, h: number, p: Float64Array) => void) => {
    const p = new Float64Array(Tk);
    const qs = new Float64Array(D);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < Tq; i++) {
        for (let h = 0; h < H; h++) {
          const qRow = ((b * Tq + i) * H + h) * D;
          // Keras scales the query before the product.
          for (let d = 0; d < D; d++) qs[d] = q.data[qRow + d] * scale;
          let max = -Infinity;
          for (let j = 0; j < Tk; j++) {
            const kRow = ((b * Tk + j) * H + h) * D;
            let s = 0;
            for (let d = 0; d < D; d++) s += qs[d] * k.data[kRow + d];
            p[j] = kept(b, i, j) ? s : MASKED_SCORE;
            max = Math.max(max, p[j]);
          }
          let sum = 0;
          for (let j = 0; j < Tk; j++) sum += (p[j] = Math.exp(p[j] - max));
          for (let j = 0; j < Tk; j++) p[j] /= sum;
          fn(b, i, h, p);
        }
      }
    }
  };
  return { B, Tq, H, Tk, D, Dv: v.shape[3], scale, probs, kept };
}
