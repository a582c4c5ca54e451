import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, F32, infer, nd, randomInts, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

type Reducer = (x: TF.Tensor, axis?: number | number[], keepDims?: boolean) => TF.Tensor;
const ORACLES: Record<string, () => Reducer> = {
  reduceSum: () => tf.sum, reduceMean: () => tf.mean, reduceMax: () => tf.max, reduceMin: () => tf.min, reduceProd: () => tf.prod,
};
const AXES: number[][] = [[], [0], [1], [-1], [0, 2], [2, -3], [0, 1, 2]];

describe('reductions', () => {
  for (const [name, oracle] of Object.entries(ORACLES)) {
    it(`${name} matches TF.js over every axis set, with and without keepDims`, () => {
      // Values near ±1 keep products of 60 elements in range.
      const x = randomNd(rng(name.length), [3, 4, 5], 0.6, 1.5);
      for (const axes of AXES) {
        for (const keepDims of [false, true]) {
          const y = run1(name, [x], { axes, keepDims });
          const want = tfValues(() => oracle()(toTf(x), axes.length ? axes : undefined, keepDims));
          expectClose(y.data, want, F32);
        }
      }
    });
  }

  it('sums int32 exactly', () => {
    const x = nd([2, 3], [1, -2, 3, 4, 5, -6], 'int32');
    const y = run1('reduceSum', [x], { axes: [1] });
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.data)).toEqual([2, 3]);
    expect(Array.from(run1('reduceProd', [x]).data)).toEqual([720]);
  });

  it('infers unknown dims, reducing them away or to 1', () => {
    expect(infer('reduceMean', [tt([null, 5, 7])], { axes: [-1] })).toEqual([tt([null, 5])]);
    expect(infer('reduceSum', [tt([null, 5, 7])], { axes: [0], keepDims: true })).toEqual([tt([1, 5, 7])]);
    expect(infer('reduceMax', [tt([null, 5])])).toEqual([tt([])]);
  });

  it('rejects axes out of range, repeated axes and int32 mean', () => {
    expectShapeError(() => infer('reduceSum', [tt([null, 5])], { axes: [2] }), 'reduceSum', 'axis 2', '(None, 5)');
    expectShapeError(() => infer('reduceSum', [tt([null, 5])], { axes: [1, -1] }), 'reduceSum', 'repeat', '(None, 5)');
    expectShapeError(() => infer('reduceMean', [tt([3], 'int32')]), 'reduceMean', 'float', 'int32');
  });
});

describe('argMax', () => {
  it('matches tf.argMax on every axis', () => {
    const x = randomNd(rng(9), [3, 4, 5]);
    for (const axis of [0, 1, 2, -1]) {
      const y = run1('argMax', [x], { axis });
      expect(y.dtype).toBe('int32');
      expect(Array.from(y.data)).toEqual(Array.from(tfValues(() => tf.argMax(toTf(x), axis))));
    }
  });

  it('returns the first maximum on ties', () => {
    expect(Array.from(run1('argMax', [nd([2, 4], [1, 3, 3, 0, 2, 2, 2, 2])], { axis: 1 }).data)).toEqual([1, 0]);
    const ints = nd([5], randomInts(rng(1), 5, -3, 3), 'int32');
    expect(Array.from(run1('argMax', [ints], { axis: 0 }).data)).toEqual(Array.from(tfValues(() => tf.argMax(toTf(ints)))));
  });

  it('drops the axis from unknown shapes and rejects a bad axis', () => {
    expect(infer('argMax', [tt([null, 10])], { axis: -1 })).toEqual([tt([null], 'int32')]);
    expectShapeError(() => infer('argMax', [tt([null, 10])], { axis: 2 }), 'argMax', 'axis 2', '(None, 10)');
  });
});

describe('softmax and logSoftmax', () => {
  it('match TF.js on the last axis and, through a transpose, on a middle axis', () => {
    const x = randomNd(rng(10), [2, 3, 4], -5, 5);
    for (const [name, fn] of [['softmax', tf.softmax], ['logSoftmax', tf.logSoftmax]] as const) {
      expectClose(run1(name, [x]).data, tfValues(() => fn(toTf(x))), F32);
      const mid = tfValues(() => tf.transpose(fn(tf.transpose(toTf(x), [0, 2, 1])), [0, 2, 1]));
      expectClose(run1(name, [x], { axis: 1 }).data, mid, F32);
    }
  });

  it('are stable for large logits (the max is subtracted)', () => {
    const x = nd([3], [1000, 1001, 1002]);
    const e = [Math.exp(-2), Math.exp(-1), 1];
    const s = e[0] + e[1] + e[2];
    expectClose(run1('softmax', [x]).data, e.map((v) => v / s), { rtol: 1e-14, atol: 0 });
    expectClose(run1('logSoftmax', [x]).data, [-2, -1, 0].map((v) => v - Math.log(s)), { rtol: 1e-14, atol: 0 });
  });

  it('keep unknown shapes and reject a bad axis', () => {
    expect(infer('softmax', [tt([null, 10])])).toEqual([tt([null, 10])]);
    expectShapeError(() => infer('logSoftmax', [tt([null, 10])], { axis: -3 }), 'logSoftmax', 'axis -3', '(None, 10)');
    expectShapeError(() => infer('softmax', [tt([null, 10], 'int32')]), 'softmax', 'float', 'int32');
  });
});
