import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, F32, infer, nd, randomInts, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

describe('matmul', () => {
  it('matches tf.matMul for every transpose combination', () => {
    const next = rng(5);
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = randomNd(next, ta ? [7, 5] : [5, 7]);
        const b = randomNd(next, tb ? [3, 7] : [7, 3]);
        const got = run1('matmul', [a, b], { transposeA: ta, transposeB: tb });
        expect(got.shape).toEqual([5, 3]);
        expectClose(got.data, tfValues(() => tf.matMul(toTf(a), toTf(b), ta, tb)), F32);
      }
    }
  });

  it('broadcasts leading dims: a rank-3 sequence times a rank-2 kernel (Dense on sequences)', () => {
    const next = rng(6);
    const a = randomNd(next, [2, 4, 6]);
    const b = randomNd(next, [6, 3]);
    const want = tfValues(() => tf.reshape(tf.matMul(tf.reshape(toTf(a), [8, 6]), toTf(b)), [2, 4, 3]));
    expectClose(run1('matmul', [a, b]).data, want, F32);
  });

  it('broadcasts batch dims of both sides, with transposes', () => {
    const next = rng(7);
    const a = randomNd(next, [2, 1, 4, 3]);
    const b = randomNd(next, [3, 5, 4]);
    const got = run1('matmul', [a, b], { transposeA: true, transposeB: true });
    expect(got.shape).toEqual([2, 3, 3, 5]);
    const want = tfValues(() => tf.matMul(tf.tile(toTf(a), [1, 3, 1, 1]), tf.tile(tf.expandDims(toTf(b), 0), [2, 1, 1, 1]), true, true));
    expectClose(got.data, want, F32);
  });

  it('multiplies int32 exactly', () => {
    const next = rng(8);
    const a = nd([3, 4], randomInts(next, 12, -9, 10), 'int32');
    const b = nd([4, 2], randomInts(next, 8, -9, 10), 'int32');
    const got = run1('matmul', [a, b]);
    expect(got.dtype).toBe('int32');
    expect(Array.from(got.data)).toEqual(Array.from(tfValues(() => tf.matMul(toTf(a), toTf(b)))));
  });

  it('infers shapes with an unknown batch', () => {
    expect(infer('matmul', [tt([null, 32]), tt([32, 8])])).toEqual([tt([null, 8])]);
    expect(infer('matmul', [tt([null, 5, 32]), tt([32, 8])])).toEqual([tt([null, 5, 8])]);
    expect(infer('matmul', [tt([null, 5, 32]), tt([null, 8, 32])], { transposeB: true })).toEqual([tt([null, 5, 8])]);
    expect(infer('matmul', [tt([4, null]), tt([7, 2])])).toEqual([tt([4, 2])]);
  });

  it('names both shapes when the inner dimensions differ', () => {
    expectShapeError(() => infer('matmul', [tt([null, 32]), tt([16, 8])]), 'matmul: inner dimensions differ: a (None, 32) · b (16, 8)');
    expectShapeError(() => infer('matmul', [tt([4, 3]), tt([3, 4])], { transposeB: true }), 'a (4, 3) · b (3, 4)', 'transposeB');
  });

  it('rejects rank < 2, batch dims that do not broadcast and mixed dtypes', () => {
    expectShapeError(() => infer('matmul', [tt([3]), tt([3, 2])]), 'matmul', 'a', 'rank ≥ 2', '(3,)');
    expectShapeError(() => infer('matmul', [tt([2, 3, 4]), tt([5, 4, 2])]), 'matmul', '(2,)', '(5,)');
    expectShapeError(() => infer('matmul', [tt([3, 4]), tt([4, 2], 'int32')]), 'matmul', 'dtypes differ');
  });
});
