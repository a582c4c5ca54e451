import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { BINARY } from '../../../src/ir/ops/binary.js';
import { sizeOf } from '../../../src/ir/ndarray.js';
import { expectClose, expectShapeError, F32, infer, nd, randomInts, randoms, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

type Fn = (a: TF.Tensor, b: TF.Tensor) => TF.Tensor;
const FLOAT_ORACLES: Record<string, () => Fn> = {
  add: () => tf.add, sub: () => tf.sub, mul: () => tf.mul, div: () => tf.div, pow: () => tf.pow,
  maximum: () => tf.maximum, minimum: () => tf.minimum, squaredDifference: () => tf.squaredDifference,
  equal: () => tf.equal, notEqual: () => tf.notEqual, less: () => tf.less, lessEqual: () => tf.lessEqual,
  greater: () => tf.greater, greaterEqual: () => tf.greaterEqual,
  reluGrad: () => (a, b) => tf.mul(a, tf.step(b)),
};

/** Shape pairs that exercise broadcasting: equal, trailing vector, column, scalar, both sides stretching. */
const PAIRS: [number[], number[]][] = [[[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 3, 4], [3, 1]], [[2, 3, 4], []], [[2, 1, 4], [1, 3, 1]], [[5], [2, 1]]];

/** Few distinct values so comparisons see ties; positive bases so pow is real. */
function operands(seed: number, sa: number[], sb: number[], name: string) {
  const next = rng(seed);
  const gen = (n: number) => (name === 'pow' ? randoms(next, n, 0.2, 3) : randomInts(next, n, -3, 4).map((v) => (v === 0 ? 0.5 : v / 2)));
  return [nd(sa, gen(sizeOf(sa))), nd(sb, gen(sizeOf(sb)))];
}

describe('binary ops', () => {
  it('the table is the catalog', () => {
    expect(Object.keys(BINARY).sort()).toEqual([...Object.keys(FLOAT_ORACLES), 'logicalAnd', 'logicalOr'].sort());
  });

  for (const [name, oracle] of Object.entries(FLOAT_ORACLES)) {
    it(`${name} matches TF.js with broadcasting`, () => {
      PAIRS.forEach(([sa, sb], k) => {
        for (const [x, y] of [[sa, sb], [sb, sa]]) {
          const [a, b] = operands(k * 31 + name.length, x, y, name);
          const got = run1(name, [a, b]);
          expectClose(got.data, tfValues(() => oracle()(toTf(a), toTf(b))), F32);
        }
      });
    });
  }

  it('comparisons give bool', () => {
    const y = run1('less', [nd([3], [1, 2, 3]), nd([], [2])]);
    expect(y.dtype).toBe('bool');
    expect(Array.from(y.data)).toEqual([1, 0, 0]);
  });

  it('logicalAnd and logicalOr match TF.js on bools', () => {
    const next = rng(3);
    const a = nd([4, 3], randomInts(next, 12, 0, 2), 'bool');
    const b = nd([3], randomInts(next, 3, 0, 2), 'bool');
    expect(Array.from(run1('logicalAnd', [a, b]).data)).toEqual(Array.from(tfValues(() => tf.logicalAnd(toTf(a), toTf(b)))));
    expect(Array.from(run1('logicalOr', [a, b]).data)).toEqual(Array.from(tfValues(() => tf.logicalOr(toTf(a), toTf(b)))));
  });

  it('int32 arithmetic matches TF.js: wrapping products, floor division', () => {
    const a = nd([6], [7, -7, 7, -7, 12345, 5], 'int32');
    const b = nd([6], [2, 2, -2, -2, -98765, 3], 'int32');
    for (const [name, fn] of [['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['maximum', tf.maximum], ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference]] as const) {
      const got = run1(name, [a, b]);
      expect(got.dtype).toBe('int32');
      expect(Array.from(got.data), name).toEqual(Array.from(tfValues(() => fn(toTf(a), toTf(b)))));
    }
    expect(Array.from(run1('div', [a, b]).data)).toEqual([3, -4, -4, 3, -1, 1]);
    // 123456789·987654321 needs 57 bits; the int32 result is the low 32 bits, as i32 math on a GPU gives.
    const big = run1('mul', [nd([1], [123456789], 'int32'), nd([1], [987654321], 'int32')]);
    expect(big.data[0]).toBe(Number(BigInt.asIntN(32, 123456789n * 987654321n)));
    expect(run1('div', [nd([1], [5], 'int32'), nd([1], [0], 'int32')]).data[0]).toBe(0);
  });

  it('infers broadcast shapes with unknown dims', () => {
    expect(infer('add', [tt([null, 3]), tt([3])])).toEqual([tt([null, 3])]);
    expect(infer('mul', [tt([null, 1, 4]), tt([5, 1])])).toEqual([tt([null, 5, 4])]);
    expect(infer('add', [tt([null]), tt([7])])).toEqual([tt([7])]);
    expect(infer('add', [tt([null]), tt([1])])).toEqual([tt([null])]);
    expect(infer('greater', [tt([null, 2]), tt([null, 2])])).toEqual([tt([null, 2], 'bool')]);
  });

  it('rejects shapes that do not broadcast, mixed dtypes and wrong dtype classes', () => {
    expectShapeError(() => infer('add', [tt([2, 3]), tt([4])]), 'add', 'do not broadcast', 'a (2, 3)', 'b (4,)');
    expectShapeError(() => infer('sub', [tt([null, 3]), tt([null, 4])]), 'sub', '(None, 3)', '(None, 4)');
    expectShapeError(() => infer('add', [tt([3]), tt([3], 'int32')]), 'add', 'dtypes differ', 'float32', 'int32');
    expectShapeError(() => infer('add', [tt([3], 'bool'), tt([3], 'bool')]), 'add', 'bool');
    expectShapeError(() => infer('logicalAnd', [tt([3]), tt([3])]), 'logicalAnd', 'bool', 'float32');
  });
});
