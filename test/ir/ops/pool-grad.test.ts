import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { getOp } from '../../../src/ir/registry.js';
import type { NDArray } from '../../../src/ir/ndarray.js';
import { expectClose, expectShapeError, F32, infer, nd, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

function dot(a: NDArray, b: NDArray): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}

const CASES: { x: number[]; poolSize: [number, number]; strides: [number, number]; padding: 'same' | 'valid' }[] = [
  { x: [2, 6, 6, 3], poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
  { x: [2, 7, 7, 3], poolSize: [2, 2], strides: [2, 2], padding: 'same' },
  { x: [1, 7, 8, 2], poolSize: [3, 3], strides: [1, 1], padding: 'same' },
  { x: [1, 9, 8, 2], poolSize: [3, 2], strides: [2, 3], padding: 'same' },
  { x: [1, 9, 8, 2], poolSize: [3, 3], strides: [2, 2], padding: 'valid' },
  { x: [1, 5, 5, 1], poolSize: [4, 4], strides: [3, 3], padding: 'same' },
];

describe('maxPool2dGrad and avgPool2dGrad', () => {
  CASES.forEach((c, i) => {
    const label = `x ${c.x.join('×')}, pool ${c.poolSize.join('×')}, s ${c.strides}, ${c.padding}`;
    it(`maxPool2dGrad matches TF.js; avgPool2dGrad is avgPool2d's transpose (and matches TF.js without cut windows): ${label}`, () => {
      const next = rng(700 + i);
      const x = randomNd(next, c.x);
      const attrs = { poolSize: c.poolSize, strides: c.strides, padding: c.padding };
      const dy = randomNd(next, run1('maxPool2d', [x], attrs).shape);
      const grad = (pool: (t: TF.Tensor4D) => TF.Tensor4D) => tfValues(() => tf.grad((t: TF.Tensor) => tf.sum(tf.mul(pool(t as TF.Tensor4D), toTf(dy))))(toTf(x) as TF.Tensor4D));
      expectClose(run1('maxPool2dGrad', [x, dy], attrs).data, grad((t) => tf.maxPool(t, c.poolSize, c.strides, c.padding)), F32);
      const dx = run1('avgPool2dGrad', [dy], { ...attrs, inputSize: c.x.slice(1, 3) });
      // ⟨avgPool(x), dy⟩ = ⟨x, avgPool2dGrad(dy)⟩: it is the exact transpose of the forward op.
      expectClose([dot(x, dx)], [dot(run1('avgPool2d', [x], attrs), dy)], { rtol: 1e-12, atol: 1e-12 });
      // TF.js 4.22's CPU AvgPoolGrad divides by the whole window even where 'same' padding cuts it,
      // unlike its own forward avgPool (and TF): compare with it only where no window is cut.
      if (c.padding === 'valid') expectClose(dx.data, grad((t) => tf.avgPool(t, c.poolSize, c.strides, c.padding)), F32);
    });
  });

  it('maxPool2dGrad sends a tied window to its first maximum; avgPool2dGrad shares over unpadded elements only', () => {
    // One 2×2 window of equal values, and a 3×3 input whose 'same' 2×2/2 windows are cut by padding.
    expect(Array.from(run1('maxPool2dGrad', [nd([1, 2, 2, 1], [3, 3, 3, 3]), nd([1, 1, 1, 1], [5])], { poolSize: [2, 2], strides: [2, 2] }).data)).toEqual([5, 0, 0, 0]);
    const dx = run1('avgPool2dGrad', [nd([1, 2, 2, 1], [4, 2, 6, 8])], { poolSize: [2, 2], strides: [2, 2], padding: 'same', inputSize: [3, 3] });
    expect(Array.from(dx.data)).toEqual([1, 1, 1, 1, 1, 1, 3, 3, 8]);
  });

  it('infer the input shape with an unknown batch, and reject a dy that is not the pool output', () => {
    const attrs = { poolSize: [2, 2], strides: [2, 2] };
    expect(infer('maxPool2dGrad', [tt([null, 8, 8, 3]), tt([null, 4, 4, 3])], attrs)).toEqual([tt([null, 8, 8, 3])]);
    expect(infer('avgPool2dGrad', [tt([null, 4, 4, 3])], { ...attrs, padding: 'same', inputSize: [7, 8] })).toEqual([tt([null, 7, 8, 3])]);
    expectShapeError(() => infer('maxPool2dGrad', [tt([null, 8, 8, 3]), tt([null, 3, 4, 3])], attrs), 'maxPool2dGrad', '(None, 3, 4, 3)', '4×4');
    expectShapeError(() => infer('maxPool2dGrad', [tt([null, 8, 8, 3]), tt([null, 4, 4, 2])], attrs), 'maxPool2dGrad', 'channels');
    expectShapeError(() => infer('avgPool2dGrad', [tt([null, 4, 4, 3])], { ...attrs, inputSize: [11, 11] }), 'avgPool2dGrad', '(None, 4, 4, 3)');
    expect(() => getOp('avgPool2dGrad').infer([tt([2]), tt([2])], {})).toThrow(/^avgPool2dGrad: expects 1/);
    expect(() => getOp('maxPool2dGrad').infer([tt([2])], {})).toThrow(/^maxPool2dGrad: expects 2/);
  });
});
