import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, F32, infer, nd, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

/** Keras's _compute_attention in TF.js ops on [b, t, h, d] tensors, with an optional keep mask [b, tq, tk]. */
function tfAttention(q: TF.Tensor, k: TF.Tensor, v: TF.Tensor, scale: number, keep?: TF.Tensor): TF.Tensor {
  const heads = (x: TF.Tensor) => x.transpose([0, 2, 1, 3]);
  let s = tf.matMul(heads(q.mul(scale)), heads(k), false, true);
  if (keep) s = tf.where(tf.cast(keep.expandDims(1), 'bool').broadcastTo(s.shape), s, tf.fill(s.shape, -1e9));
  return heads(tf.matMul(tf.softmax(s), heads(v)));
}

const lowerTriangle = (b: number, tq: number, tk: number) => Array.from({ length: b * tq * tk }, (_, n) => (n % tk <= Math.floor(n / tk) % tq ? 1 : 0));

describe('attention', () => {
  it('is softmax((q·scale)·kᵀ)·v per batch and head, as Keras computes it', () => {
    const next = rng(3);
    const [q, k, v] = [randomNd(next, [2, 3, 2, 4]), randomNd(next, [2, 5, 2, 4]), randomNd(next, [2, 5, 2, 3])];
    const y = run1('attention', [q, k, v], { scale: 0.5 });
    expect(y.shape).toEqual([2, 3, 2, 3]);
    expectClose(y.data, tfValues(() => tfAttention(toTf(q), toTf(k), toTf(v), 0.5)), F32);
  });
  it('causal: query i sees keys 0..i (a lower-triangular mask)', () => {
    const next = rng(4);
    const [q, k, v] = [randomNd(next, [2, 4, 2, 3]), randomNd(next, [2, 4, 2, 3]), randomNd(next, [2, 4, 2, 2])];
    const y = run1('attention', [q, k, v], { scale: 0.7, causal: true });
    expectClose(y.data, tfValues(() => tfAttention(toTf(q), toTf(k), toTf(v), 0.7, tf.tensor(lowerTriangle(2, 4, 4), [2, 4, 4]))), F32);
  });
  it('a mask broadcast from [1, tq, tk] sets scores to −1e9 where it is 0, and combines with causal', () => {
    const next = rng(5);
    const [q, k, v] = [randomNd(next, [2, 3, 1, 2]), randomNd(next, [2, 4, 1, 2]), randomNd(next, [2, 4, 1, 3])];
    const keep = [1, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 1];
    const mask = nd([1, 3, 4], keep);
    const y = run1('attention', [q, k, v, mask], { scale: 1 });
    const wantKeep = tf.tensor([...keep, ...keep], [2, 3, 4]);
    expectClose(y.data, tfValues(() => tfAttention(toTf(q), toTf(k), toTf(v), 1, wantKeep)), F32);
    const yc = run1('attention', [q, k, v, mask], { scale: 1, causal: true });
    expectClose(yc.data, tfValues(() => tfAttention(toTf(q), toTf(k), toTf(v), 1, wantKeep.mul(tf.tensor(lowerTriangle(2, 3, 4), [2, 3, 4])))), F32);
  });
  it('a fully masked row is the plain average of the values (every score −1e9), in float32 and float64', () => {
    const next = rng(6);
    const [q, k, v] = [randomNd(next, [1, 2, 1, 2]), randomNd(next, [1, 3, 1, 2]), randomNd(next, [1, 3, 1, 2])];
    const mask = nd([1, 2, 3], [0, 0, 0, 1, 0, 1]);
    for (const precision of ['float64', 'float32'] as const) {
      const y = run1('attention', [q, k, v, mask], { scale: 1 }, precision);
      const mean = [0, 1].map((e) => (v.data[e] + v.data[2 + e] + v.data[4 + e]) / 3);
      expectClose(Array.from(y.data).slice(0, 2), mean, F32);
    }
  });
  it('infers [batch, tq, heads, valueDepth] with an unknown batch', () => {
    expect(infer('attention', [tt([null, 3, 2, 4]), tt([null, 5, 2, 4]), tt([null, 5, 2, 6])])).toEqual([tt([null, 3, 2, 6])]);
    expect(infer('attention', [tt([null, 3, 2, 4]), tt([null, 5, 2, 4]), tt([null, 5, 2, 6]), tt([null, 3, 5])], { causal: true })).toEqual([tt([null, 3, 2, 6])]);
  });
  it('rejects mismatched heads, depths, lengths and masks, naming the operands', () => {
    expectShapeError(() => infer('attention', [tt([2, 3, 2, 4]), tt([2, 5, 3, 4]), tt([2, 5, 3, 6])]), 'attention', 'head counts');
    expectShapeError(() => infer('attention', [tt([2, 3, 2, 4]), tt([2, 5, 2, 3]), tt([2, 5, 2, 6])]), 'attention', 'depths');
    expectShapeError(() => infer('attention', [tt([2, 3, 2, 4]), tt([2, 5, 2, 4]), tt([2, 6, 2, 6])]), 'attention', 'lengths');
    expectShapeError(() => infer('attention', [tt([2, 3, 2, 4]), tt([2, 5, 2, 4]), tt([2, 5, 2, 6]), tt([2, 3, 4])]), 'attention', 'mask');
    expectShapeError(() => infer('attention', [tt([2, 3, 4]), tt([2, 5, 2, 4]), tt([2, 5, 2, 6])]), 'attention', 'query', 'rank 4');
  });
});
