import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { outputDim, padBefore } from '../../../src/ir/ops/window.js';
import { expectClose, expectShapeError, F32, infer, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

type Pad = 'same' | 'valid';
interface Case { x: number[]; k: [number, number]; strides: [number, number]; dilations: [number, number]; padding: Pad }

/** Odd and even sizes, square and oblong kernels, strides, and dilations (TF needs stride 1 with those). */
const CASES: Case[] = [
  { x: [2, 7, 7, 3], k: [3, 3], strides: [1, 1], dilations: [1, 1], padding: 'same' },
  { x: [2, 7, 7, 3], k: [3, 3], strides: [1, 1], dilations: [1, 1], padding: 'valid' },
  { x: [1, 8, 6, 2], k: [3, 3], strides: [2, 2], dilations: [1, 1], padding: 'same' },
  { x: [1, 9, 8, 2], k: [5, 2], strides: [2, 3], dilations: [1, 1], padding: 'same' },
  { x: [1, 9, 8, 2], k: [4, 4], strides: [3, 2], dilations: [1, 1], padding: 'valid' },
  { x: [2, 5, 6, 4], k: [1, 1], strides: [1, 1], dilations: [1, 1], padding: 'valid' },
  { x: [1, 9, 10, 2], k: [3, 3], strides: [1, 1], dilations: [2, 2], padding: 'same' },
  { x: [1, 9, 10, 2], k: [3, 2], strides: [1, 1], dilations: [2, 3], padding: 'valid' },
];

const label = (c: Case) => `x ${c.x.join('×')}, k ${c.k.join('×')}, s ${c.strides}, d ${c.dilations}, ${c.padding}`;

describe('TF window arithmetic', () => {
  it("'same' outputs ceil(in/stride) and pads the smaller half before", () => {
    expect([outputDim(5, 3, 2, 1, 'same'), padBefore(5, 3, 2, 1, 'same')]).toEqual([3, 1]); // total 2
    expect([outputDim(4, 3, 2, 1, 'same'), padBefore(4, 3, 2, 1, 'same')]).toEqual([2, 0]); // total 1
    expect([outputDim(6, 4, 1, 1, 'same'), padBefore(6, 4, 1, 1, 'same')]).toEqual([6, 1]); // total 3
    expect([outputDim(5, 3, 1, 2, 'same'), padBefore(5, 3, 1, 2, 'same')]).toEqual([5, 2]); // dilated k = 5
    expect([outputDim(8, 1, 3, 1, 'same'), padBefore(8, 1, 3, 1, 'same')]).toEqual([3, 0]); // total max(−1, 0)
  });

  it("'valid' keeps windows that fit, and unknown sizes stay unknown", () => {
    expect(outputDim(7, 3, 2, 1, 'valid')).toBe(3);
    expect(outputDim(8, 3, 2, 1, 'valid')).toBe(3);
    expect(outputDim(9, 3, 1, 2, 'valid')).toBe(5);
    expect(padBefore(9, 3, 1, 2, 'valid')).toBe(0);
    expect(outputDim(null, 3, 1, 1, 'same')).toBeNull();
  });
});

describe('conv2d', () => {
  CASES.forEach((c, i) => {
    it(`matches tf.conv2d: ${label(c)}`, () => {
      const next = rng(100 + i);
      const x = randomNd(next, c.x);
      const w = randomNd(next, [...c.k, c.x[3], 3]);
      const attrs = { strides: c.strides, padding: c.padding, dilations: c.dilations };
      const want = tfValues(() => tf.conv2d(toTf(x) as TF.Tensor4D, toTf(w) as TF.Tensor4D, c.strides, c.padding, 'NHWC', c.dilations));
      expectClose(run1('conv2d', [x, w], attrs).data, want, F32);
    });
  });

  it('infers NHWC shapes with an unknown batch', () => {
    expect(infer('conv2d', [tt([null, 28, 28, 1]), tt([3, 3, 1, 32])])).toEqual([tt([null, 26, 26, 32])]);
    expect(infer('conv2d', [tt([null, 28, 28, 1]), tt([3, 3, 1, 32])], { padding: 'same', strides: [2, 2] })).toEqual([tt([null, 14, 14, 32])]);
    expect(infer('conv2d', [tt([null, null, null, 3]), tt([3, 3, 3, 8])])).toEqual([tt([null, null, null, 8])]);
  });

  it('rejects channel mismatches, wrong ranks, windows larger than the input and bad attrs', () => {
    expectShapeError(() => infer('conv2d', [tt([null, 8, 8, 3]), tt([3, 3, 4, 8])]), 'conv2d', 'channels', '(None, 8, 8, 3)', '(3, 3, 4, 8)');
    expectShapeError(() => infer('conv2d', [tt([null, 8, 3]), tt([3, 3, 3, 8])]), 'conv2d', 'input', 'rank 4', '(None, 8, 3)');
    expectShapeError(() => infer('conv2d', [tt([null, 8, 8, 3]), tt([3, 3, 8])]), 'conv2d', 'kernel', 'rank 4', '(3, 3, 8)');
    expectShapeError(() => infer('conv2d', [tt([null, 2, 8, 3]), tt([3, 3, 3, 8])]), 'conv2d', '(None, 2, 8, 3)', '(3, 3)', "'valid'");
    expectShapeError(() => infer('conv2d', [tt([null, 8, 8, 3]), tt([3, 3, 3, 8])], { strides: [0, 1] }), 'conv2d', 'strides');
    expectShapeError(() => infer('conv2d', [tt([null, 8, 8, 3]), tt([3, 3, 3, 8])], { padding: 'full' }), 'conv2d', 'padding', 'full');
  });
});

describe('depthwiseConv2d', () => {
  CASES.forEach((c, i) => {
    for (const m of [1, 2]) {
      it(`matches tf.depthwiseConv2d (multiplier ${m}): ${label(c)}`, () => {
        const next = rng(200 + i);
        const x = randomNd(next, c.x);
        const w = randomNd(next, [...c.k, c.x[3], m]);
        const attrs = { strides: c.strides, padding: c.padding, dilations: c.dilations };
        const want = tfValues(() => tf.depthwiseConv2d(toTf(x) as TF.Tensor4D, toTf(w) as TF.Tensor4D, c.strides, c.padding, 'NHWC', c.dilations));
        expectClose(run1('depthwiseConv2d', [x, w], attrs).data, want, F32);
      });
    }
  });

  it('outputs cin·multiplier channels and rejects a channel mismatch', () => {
    expect(infer('depthwiseConv2d', [tt([null, 8, 8, 3]), tt([3, 3, 3, 2])], { padding: 'same' })).toEqual([tt([null, 8, 8, 6])]);
    expectShapeError(() => infer('depthwiseConv2d', [tt([null, 8, 8, 3]), tt([3, 3, 2, 2])]), 'depthwiseConv2d', '(None, 8, 8, 3)', '(3, 3, 2, 2)');
  });
});
