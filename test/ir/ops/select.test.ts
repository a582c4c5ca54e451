import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, infer, nd, randomInts, randoms, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

describe('cast', () => {
  it('float → int32 truncates toward zero, as TF.js does', () => {
    const x = nd([6], [-2.7, -0.5, 0.5, 2.7, 3, -3]);
    const y = run1('cast', [x], { dtype: 'int32' });
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.data)).toEqual([-2, 0, 0, 2, 3, -3]);
    expect(Array.from(y.data)).toEqual(Array.from(tfValues(() => tf.cast(toTf(x), 'int32'))));
  });

  it('→ bool is x ≠ 0; bool and int32 → float are exact', () => {
    expect(Array.from(run1('cast', [nd([4], [0, -0.25, 3, -0])], { dtype: 'bool' }).data)).toEqual([0, 1, 1, 0]);
    expect(Array.from(run1('cast', [nd([3], [0, -7, 2], 'int32')], { dtype: 'bool' }).data)).toEqual([0, 1, 1]);
    expect(Array.from(run1('cast', [nd([2], [1, 0], 'bool')], { dtype: 'float32' }).data)).toEqual([1, 0]);
    expect(Array.from(run1('cast', [nd([2], [-5, 16777217], 'int32')], { dtype: 'float32' }).data)).toEqual([-5, 16777217]);
  });

  it('keeps the shape, unknown dims included', () => {
    expect(infer('cast', [tt([null, 4])], { dtype: 'int32' })).toEqual([tt([null, 4], 'int32')]);
  });
});

describe('where', () => {
  it('selects with broadcasting, matching TF.js', () => {
    const next = rng(11);
    const cond = nd([4, 1], randomInts(next, 4, 0, 2), 'bool');
    const a = nd([4, 3], randoms(next, 12));
    const b = nd([3], randoms(next, 3));
    const want = tfValues(() => tf.where(toTf(cond), toTf(a), toTf(b)));
    expectClose(run1('where', [cond, a, b]).data, want, { rtol: 0, atol: 0 });
  });

  it('infers the broadcast of all three shapes', () => {
    expect(infer('where', [tt([null, 1], 'bool'), tt([3]), tt([null, 3])])).toEqual([tt([null, 3])]);
  });

  it('rejects a non-bool condition, mixed branch dtypes and shapes that do not broadcast', () => {
    expectShapeError(() => infer('where', [tt([3]), tt([3]), tt([3])]), 'where', 'cond', 'bool', 'float32');
    expectShapeError(() => infer('where', [tt([3], 'bool'), tt([3]), tt([3], 'int32')]), 'where', 'dtypes differ');
    expectShapeError(() => infer('where', [tt([2], 'bool'), tt([3]), tt([3])]), 'where', 'cond (2,)', 'a (3,)', 'b (3,)');
  });
});
