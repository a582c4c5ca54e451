/** attention's gradient: the score matrix rebuilt from primitives, then the softmax and matmul rules by hand. */
import type { ValueRef } from '../../ir/types.js';
import type { GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { MASKED_SCORE } from '../../ir/ops/attention.js';
import { dyOf, gradRule, type Ops } from './expr.js';

/** [batch, time, heads, depth] ↔ [batch, heads, time, depth]; the permutation is its own inverse. */
const HEADS_FIRST = [0, 2, 1, 3];

/** Where the node's mask and causal flag let a query see a key, shaped to broadcast over [batch, heads, tq, tk]; null when nothing is masked. */
function keepOf(e: Ops, tq: number, tk: number, mask: ValueRef | undefined, causal: boolean): ValueRef | null {
  let keep: ValueRef | null = null;
  if (mask) {
    const m = e.shape(mask);
    const full = [...new Array(3 - m.length).fill(1), ...m];
    keep = e.cmp('notEqual', e.reshape(mask, [full[0], 1, full[1], full[2]]), 0);
  }
  if (causal) {
    const lower = Array.from({ length: tq * tk }, (_, n) => (n % tk <= Math.floor(n / tk) ? 1 : 0));
    const c = e.ctx.emit('constant', [], { shape: [tq, tk], dtype: 'bool', value: lower })[0];
    keep = keep ? e.op('logicalAnd', [keep, c]) : c;
  }
  return keep;
}

/**
 * With S = (q·scale)·kᵀ (masked scores replaced by −1e9), P = softmax(S) and O = P·v per batch and head:
 * dv = Pᵀ·dO, dS = P·(dP − Σ dP·P) at unmasked scores (0 at masked ones) with dP = dO·vᵀ,
 * dq = scale·dS·k, dk = dSᵀ·(q·scale). The mask gets none.
 */
export const attentionGrad: GradientRule = gradRule((e: Ops, ctx) => {
  const dO = dyOf(ctx);
  const [q, k, v, mask] = ctx.inputs;
  const [tq, tk] = [e.shape(q)[1], e.shape(k)[1]];
  if (tq === null || tk === null) throw new GraphError(`gradient of '${ctx.node.name}': attention needs known sequence lengths, got ${tq} and ${tk}`, { node: ctx.node.name });
  const scale = ctx.attrs.scale as number;
  const heads = (x: ValueRef) => e.op('transpose', [x], { perm: HEADS_FIRST });
  const [qs, kt, vt, dOt] = [heads(e.mul(q, scale)), heads(k), heads(v), heads(dO)];
  const scores = e.op('matmul', [qs, kt], { transposeB: true });
  const keep = keepOf(e, tq, tk, mask, ctx.attrs.causal === true);
  const p = e.op('softmax', [keep ? e.where(keep, scores, MASKED_SCORE) : scores], { axis: -1 });
  const dv = e.op('matmul', [p, dOt], { transposeA: true });
  const dp = e.op('matmul', [dOt, vt], { transposeB: true });
  const dsAll = e.mul(p, e.sub(dp, e.sum(e.mul(dp, p), [3], true)));
  // A masked score is a constant: nothing flows back through it (it matters in fully masked rows, where p ≠ 0).
  const ds = keep ? e.where(keep, dsAll, 0) : dsAll;
  const dq = e.mul(e.op('matmul', [ds, kt]), scale);
  const dk = e.op('matmul', [ds, qs], { transposeA: true });
  return [heads(dq), heads(dk), heads(dv), ...(mask ? [null] : [])];
});
