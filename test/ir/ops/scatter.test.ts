import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { getOp } from '../../../src/ir/registry.js';
import { expectClose, expectShapeError, F32, infer, nd, randomInts, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

/** params shape, indices shape, axis: scatterAdd(dy, indices) must be the gradient of gather(params, indices). */
const CASES: [number[], number[], number][] = [
  [[6, 3], [5], 0],
  [[6], [4, 3], 0],
  [[2, 5, 3], [4], 1],
  [[2, 3, 4], [2, 3], 2],
];

describe('scatterAdd', () => {
  CASES.forEach(([params, indices, axis], i) => {
    it(`is TF.js's gradient of gather: params ${params.join('×')}, indices ${indices.join('×')}, axis ${axis}`, () => {
      const next = rng(900 + i);
      const p = randomNd(next, params);
      // Few distinct values, so indices repeat and their updates must add up.
      const ix = nd(indices, randomInts(next, indices.reduce((a, b) => a * b, 1), 0, params[axis] - 1), 'int32');
      const dy = randomNd(next, run1('gather', [p, ix], { axis }).shape);
      const want = tfValues(() => tf.grad((t: TF.Tensor) => tf.sum(tf.mul(tf.gather(t, toTf(ix), axis), toTf(dy))))(toTf(p)));
      const got = run1('scatterAdd', [dy, ix], { axis, size: params[axis] });
      expect(got.shape).toEqual(params);
      expectClose(got.data, want, F32);
    });
  });

  it('sums repeated indices, leaves unindexed rows zero, and wraps int32 like its dtype', () => {
    const got = run1('scatterAdd', [nd([4, 2], [1, 2, 3, 4, 5, 6, 7, 8]), nd([4], [2, 0, 2, 2], 'int32')], { size: 4 });
    expect(Array.from(got.data)).toEqual([3, 4, 0, 0, 13, 16, 0, 0]);
    const ints = run1('scatterAdd', [nd([2], [2 ** 31 - 1, 1], 'int32'), nd([2], [0, 0], 'int32')], { size: 1 });
    expect(Array.from(ints.data)).toEqual([-(2 ** 31)]);
  });

  it('rejects out-of-range indices at run time', () => {
    expect(() => run1('scatterAdd', [nd([2], [1, 2]), nd([2], [0, 3], 'int32')], { size: 3 })).toThrow(/index 3 is out of range \[0, 3\)/);
  });

  it('infers shapes with an unknown batch and rejects mismatches', () => {
    expect(infer('scatterAdd', [tt([null, 5, 8]), tt([null, 5], 'int32')], { size: 100 })).toEqual([tt([100, 8])]);
    expect(infer('scatterAdd', [tt([null, 7, 8]), tt([7], 'int32')], { axis: 1, size: 10 })).toEqual([tt([null, 10, 8])]);
    expectShapeError(() => infer('scatterAdd', [tt([4, 8]), tt([5], 'int32')], { size: 10 }), 'scatterAdd', '(4, 8)', '(5,)');
    expectShapeError(() => infer('scatterAdd', [tt([4, 8]), tt([4])], { size: 10 }), 'scatterAdd', 'indices', 'int32');
    expectShapeError(() => infer('scatterAdd', [tt([4, 8]), tt([4, 8, 2], 'int32')], { size: 10 }), 'scatterAdd', 'does not fit');
    expectShapeError(() => infer('scatterAdd', [tt([4, 8]), tt([4], 'int32')], { size: 0 }), 'scatterAdd', 'size');
    expect(() => getOp('scatterAdd').infer([tt([2])], { size: 2 })).toThrow(/^scatterAdd: expects 2/);
  });
});
