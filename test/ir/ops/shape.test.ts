import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, infer, nd, randomInts, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

const EXACT = { rtol: 0, atol: 0 };

describe('reshape', () => {
  it('keeps the data and resolves -1', () => {
    const x = randomNd(rng(1), [2, 3, 4]);
    const y = run1('reshape', [x], { shape: [4, -1] });
    expect(y.shape).toEqual([4, 6]);
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
  });

  it('infers with an unknown batch', () => {
    expect(infer('reshape', [tt([null, 3136])], { shape: [-1, 7, 7, 64] })).toEqual([tt([null, 7, 7, 64])]);
    expect(infer('reshape', [tt([null, 6])], { shape: [4, 3] })).toEqual([tt([4, 3])]);
  });

  it('rejects size mismatches, two -1s and negative dims', () => {
    expectShapeError(() => infer('reshape', [tt([2, 3])], { shape: [4, -1] }), 'reshape', '(2, 3)', '[4, -1]');
    expectShapeError(() => infer('reshape', [tt([2, 3])], { shape: [5] }), 'reshape', '(2, 3)', '[5]');
    expectShapeError(() => infer('reshape', [tt([null, 6])], { shape: [4, 2] }), 'reshape', '(None, 6)', '[4, 2]');
    expectShapeError(() => infer('reshape', [tt([6])], { shape: [-1, -1] }), 'reshape', 'at most one -1');
    expectShapeError(() => infer('reshape', [tt([6])], { shape: [-2, -3] }), 'reshape');
  });
});

describe('transpose', () => {
  it('matches tf.transpose', () => {
    const x = randomNd(rng(2), [2, 3, 4, 5]);
    for (const perm of [[0, 3, 1, 2], [3, 2, 1, 0], [1, 0, 2, 3]]) {
      const y = run1('transpose', [x], { perm });
      expectClose(y.data, tfValues(() => tf.transpose(toTf(x), perm)), EXACT);
    }
  });

  it('permutes unknown dims and rejects a non-permutation', () => {
    expect(infer('transpose', [tt([null, 3, 4])], { perm: [2, 0, 1] })).toEqual([tt([4, null, 3])]);
    expectShapeError(() => infer('transpose', [tt([null, 3, 4])], { perm: [0, 0, 1] }), 'transpose', '[0, 0, 1]', '(None, 3, 4)');
    expectShapeError(() => infer('transpose', [tt([2, 3])], { perm: [0, 1, 2] }), 'transpose', '[0, 1, 2]', '(2, 3)');
  });
});

describe('concat', () => {
  it('matches tf.concat on each axis, negative axes included', () => {
    const next = rng(3);
    for (const axis of [0, 1, 2, -1]) {
      // Three parts of different lengths along the axis.
      const parts = [2, 1, 3].map((n) => randomNd(next, [2, 3, 4].map((d, k) => (k === (axis + 3) % 3 ? n : d))));
      const y = run1('concat', parts, { axis });
      expectClose(y.data, tfValues(() => tf.concat(parts.map(toTf), axis)), EXACT);
    }
    const x = randomNd(next, [2, 3]);
    expect(run1('concat', [x], { axis: 1 }).data).toEqual(x.data);
  });

  it('adds the axis dims and merges unknown dims', () => {
    expect(infer('concat', [tt([null, 3]), tt([null, 5])], { axis: -1 })).toEqual([tt([null, 8])]);
    expect(infer('concat', [tt([null, 3]), tt([4, 5])], { axis: 1 })).toEqual([tt([4, 8])]);
    expect(infer('concat', [tt([null, 3]), tt([2, 3])], { axis: 0 })).toEqual([tt([null, 3])]);
  });

  it('rejects rank and off-axis mismatches, and a bad axis', () => {
    expectShapeError(() => infer('concat', [tt([null, 3]), tt([null, 3, 1])], { axis: 1 }), 'concat', '(None, 3)', '(None, 3, 1)');
    expectShapeError(() => infer('concat', [tt([2, 3]), tt([4, 3])], { axis: 1 }), 'concat', 'dim 0', '(2, 3)', '(4, 3)');
    expectShapeError(() => infer('concat', [tt([2, 3])], { axis: 2 }), 'concat', 'axis 2', '(2, 3)');
  });
});

describe('slice', () => {
  it('matches tf.slice, size -1 running to the end', () => {
    const x = randomNd(rng(4), [4, 5, 6]);
    for (const [begin, size] of [[[1, 0, 2], [2, 5, 3]], [[0, 2, 1], [-1, -1, 4]], [[3, 4, 5], [1, 1, 1]]]) {
      expectClose(run1('slice', [x], { begin, size }).data, tfValues(() => tf.slice(toTf(x), begin, size)), EXACT);
    }
  });

  it('infers unknown dims and rejects out-of-range windows', () => {
    expect(infer('slice', [tt([null, 5])], { begin: [0, 1], size: [-1, 3] })).toEqual([tt([null, 3])]);
    expectShapeError(() => infer('slice', [tt([null, 5])], { begin: [0, 3], size: [-1, 3] }), 'slice', '(None, 5)', '[0, 3]', '[-1, 3]');
    expectShapeError(() => infer('slice', [tt([4, 5])], { begin: [0], size: [1] }), 'slice', '(4, 5)');
    expectShapeError(() => infer('slice', [tt([4, 5])], { begin: [-1, 0], size: [1, 1] }), 'slice', '(4, 5)');
  });
});

describe('pad', () => {
  it('matches tf.pad with a constant value', () => {
    const x = randomNd(rng(5), [2, 3, 4]);
    const paddings = [1, 0, 2, 1, 0, 3];
    const pairs = [[1, 0], [2, 1], [0, 3]] as [number, number][];
    expectClose(run1('pad', [x], { paddings, value: -1.5 }).data, tfValues(() => tf.pad(toTf(x), pairs, -1.5)), EXACT);
    expectClose(run1('pad', [x], { paddings }).data, tfValues(() => tf.pad(toTf(x), pairs)), EXACT);
  });

  it('infers unknown dims and rejects bad paddings', () => {
    expect(infer('pad', [tt([null, 4])], { paddings: [0, 0, 1, 2] })).toEqual([tt([null, 7])]);
    expectShapeError(() => infer('pad', [tt([null, 4])], { paddings: [1, 2] }), 'pad', '[1, 2]', '(None, 4)');
    expectShapeError(() => infer('pad', [tt([4])], { paddings: [-1, 2] }), 'pad', '[-1, 2]');
  });
});

describe('gather', () => {
  it('matches tf.gather on several axes with rank-2 indices', () => {
    const next = rng(6);
    const params = randomNd(next, [4, 5, 3]);
    for (const axis of [0, 1, 2, -1]) {
      const dim = params.shape[(axis + 3) % 3];
      const indices = nd([2, 3], randomInts(next, 6, 0, dim), 'int32');
      const y = run1('gather', [params, indices], { axis });
      expectClose(y.data, tfValues(() => tf.gather(toTf(params), toTf(indices), axis)), EXACT);
    }
  });

  it('throws an InputError for an index out of range', () => {
    const params = randomNd(rng(7), [4, 2]);
    expect(() => run1('gather', [params, nd([2], [1, 4], 'int32')])).toThrow(/gather: index 4 is out of range \[0, 4\)/);
    expect(() => run1('gather', [params, nd([1], [-1], 'int32')])).toThrowError(expect.objectContaining({ name: 'InputError' }));
  });

  it('infers params[:axis] + indices.shape + params[axis+1:]', () => {
    expect(infer('gather', [tt([1000, 64]), tt([null, 20], 'int32')])).toEqual([tt([null, 20, 64])]);
    expect(infer('gather', [tt([null, 7, 3]), tt([2], 'int32')], { axis: 1 })).toEqual([tt([null, 2, 3])]);
    expectShapeError(() => infer('gather', [tt([10, 4]), tt([3])]), 'gather', 'indices', 'int32', 'float32');
    expectShapeError(() => infer('gather', [tt([10, 4]), tt([3], 'int32')], { axis: 2 }), 'gather', 'axis 2', '(10, 4)');
  });
});

describe('oneHot', () => {
  it('matches tf.oneHot, out-of-range indices giving rows of off', () => {
    const indices = nd([2, 3], [0, 2, 4, -1, 3, 1], 'int32');
    const y = run1('oneHot', [indices], { depth: 4, on: 2, off: -1 });
    expect(y.dtype).toBe('float32');
    expectClose(y.data, tfValues(() => tf.oneHot(toTf(indices) as TF.Tensor2D, 4, 2, -1)), EXACT);
    expectClose(run1('oneHot', [indices], { depth: 5 }).data, tfValues(() => tf.oneHot(toTf(indices) as TF.Tensor2D, 5)), EXACT);
  });

  it('appends depth to unknown shapes and rejects bad inputs', () => {
    expect(infer('oneHot', [tt([null], 'int32')], { depth: 10 })).toEqual([tt([null, 10])]);
    expectShapeError(() => infer('oneHot', [tt([null])], { depth: 10 }), 'oneHot', 'int32', '(None,)');
    expectShapeError(() => infer('oneHot', [tt([3], 'int32')], { depth: 0 }), 'oneHot', 'depth');
  });
});
