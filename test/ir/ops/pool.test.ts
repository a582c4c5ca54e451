import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { expectClose, expectShapeError, F32, infer, nd, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

const CASES: { x: number[]; poolSize: [number, number]; strides: [number, number]; padding: 'same' | 'valid' }[] = [
  { x: [2, 6, 6, 3], poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
  { x: [2, 7, 7, 3], poolSize: [2, 2], strides: [2, 2], padding: 'same' },
  { x: [1, 7, 8, 2], poolSize: [3, 3], strides: [1, 1], padding: 'same' },
  { x: [1, 9, 8, 2], poolSize: [3, 2], strides: [2, 3], padding: 'same' },
  { x: [1, 9, 8, 2], poolSize: [3, 3], strides: [2, 2], padding: 'valid' },
  { x: [1, 5, 5, 1], poolSize: [4, 4], strides: [3, 3], padding: 'same' },
];

describe('maxPool2d and avgPool2d', () => {
  CASES.forEach((c, i) => {
    const label = `x ${c.x.join('×')}, pool ${c.poolSize.join('×')}, s ${c.strides}, ${c.padding}`;
    it(`match tf.maxPool and tf.avgPool: ${label}`, () => {
      const x = randomNd(rng(300 + i), c.x);
      const attrs = { poolSize: c.poolSize, strides: c.strides, padding: c.padding };
      const t = () => toTf(x) as TF.Tensor4D;
      expectClose(run1('maxPool2d', [x], attrs).data, tfValues(() => tf.maxPool(t(), c.poolSize, c.strides, c.padding)), F32);
      expectClose(run1('avgPool2d', [x], attrs).data, tfValues(() => tf.avgPool(t(), c.poolSize, c.strides, c.padding)), F32);
    });
  });

  it("'same' average divides by the unpadded elements only; max ignores padding", () => {
    // 3×3 input of all −1 but one 8, 2×2 windows at stride 2: 'same' pads one row and column after.
    const x = nd([1, 3, 3, 1], [-1, -1, -1, -1, -1, -1, -1, -1, 8]);
    const attrs = { poolSize: [2, 2], strides: [2, 2], padding: 'same' };
    expect(Array.from(run1('avgPool2d', [x], attrs).data)).toEqual([-1, -1, -1, 8]);
    expect(Array.from(run1('maxPool2d', [nd([1, 3, 3, 1], Array(9).fill(-3))], attrs).data)).toEqual([-3, -3, -3, -3]);
  });

  it('infer keeps the batch and channels and rejects bad inputs', () => {
    const attrs = { poolSize: [2, 2], strides: [2, 2] };
    expect(infer('maxPool2d', [tt([null, 28, 28, 32])], attrs)).toEqual([tt([null, 14, 14, 32])]);
    expect(infer('avgPool2d', [tt([null, 7, 7, 8])], { ...attrs, padding: 'same' })).toEqual([tt([null, 4, 4, 8])]);
    expectShapeError(() => infer('maxPool2d', [tt([null, 28, 28])], attrs), 'maxPool2d', 'rank 4', '(None, 28, 28)');
    expectShapeError(() => infer('avgPool2d', [tt([null, 1, 28, 3])], attrs), 'avgPool2d', '(None, 1, 28, 3)', '(2, 2)');
    expectShapeError(() => infer('maxPool2d', [tt([null, 8, 8, 3])], { poolSize: [2], strides: [2, 2] }), 'maxPool2d', 'poolSize');
  });
});
