import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { getOp } from '../../../src/ir/registry.js';
import type { NDArray } from '../../../src/ir/ndarray.js';
import { expectClose, expectShapeError, F32, infer, randomNd, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

type Pad = 'same' | 'valid';
interface Case { x: number[]; k: [number, number]; strides: [number, number]; dilations: [number, number]; padding: Pad }

/** The forward op's window cases: odd and even sizes, oblong kernels, strides, dilations. */
const CASES: Case[] = [
  { x: [2, 7, 7, 3], k: [3, 3], strides: [1, 1], dilations: [1, 1], padding: 'same' },
  { x: [2, 7, 7, 3], k: [3, 3], strides: [1, 1], dilations: [1, 1], padding: 'valid' },
  { x: [1, 8, 6, 2], k: [3, 3], strides: [2, 2], dilations: [1, 1], padding: 'same' },
  { x: [1, 9, 8, 2], k: [5, 2], strides: [2, 3], dilations: [1, 1], padding: 'same' },
  { x: [1, 9, 8, 2], k: [4, 4], strides: [3, 2], dilations: [1, 1], padding: 'valid' },
  { x: [1, 9, 10, 2], k: [3, 3], strides: [1, 1], dilations: [2, 2], padding: 'same' },
  { x: [1, 9, 10, 2], k: [3, 2], strides: [2, 1], dilations: [2, 3], padding: 'valid' },
];

const FAMILIES = [
  { fwd: 'conv2d', input: 'conv2dBackpropInput', filter: 'conv2dBackpropFilter', last: 3 },
  { fwd: 'depthwiseConv2d', input: 'depthwiseConv2dBackpropInput', filter: 'depthwiseConv2dBackpropFilter', last: 2 },
] as const;

const label = (c: Case) => `x ${c.x.join('×')}, k ${c.k.join('×')}, s ${c.strides}, d ${c.dilations}, ${c.padding}`;
function dot(a: NDArray, b: NDArray): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i];
  return s;
}

describe('convolution gradient ops', () => {
  for (const fam of FAMILIES) {
    CASES.forEach((c, i) => {
      const setup = () => {
        const next = rng(500 + i);
        const x = randomNd(next, c.x);
        const w = randomNd(next, [...c.k, c.x[3], fam.last]);
        const attrs = { strides: c.strides, padding: c.padding, dilations: c.dilations };
        const y = run1(fam.fwd, [x, w], attrs);
        const dy = randomNd(next, y.shape);
        const dx = run1(fam.input, [dy, w], { ...attrs, inputSize: c.x.slice(1, 3) });
        const dw = run1(fam.filter, [x, dy], { ...attrs, kernelSize: c.k });
        return { x, w, y, dy, dx, dw };
      };

      it(`${fam.input} and ${fam.filter} are the exact transposes of ${fam.fwd}: ${label(c)}`, () => {
        const { x, w, y, dy, dx, dw } = setup();
        expect(dx.shape).toEqual(x.shape);
        expect(dw.shape).toEqual(w.shape);
        // ⟨conv(x, w), dy⟩ = ⟨x, backpropInput(dy, w)⟩ = ⟨w, backpropFilter(x, dy)⟩, to float64 rounding.
        const want = dot(y, dy);
        expectClose([dot(x, dx), dot(w, dw)], [want, want], { rtol: 1e-12, atol: 1e-12 });
      });

      // TF.js computes these gradients only without dilation.
      if (c.dilations.every((d) => d === 1)) {
        it(`match TF.js's gradients of ${fam.fwd}: ${label(c)}`, () => {
          const { x, w, dy, dx, dw } = setup();
          const conv = (a: TF.Tensor4D, b: TF.Tensor4D) =>
            fam.fwd === 'conv2d' ? tf.conv2d(a, b, c.strides, c.padding) : tf.depthwiseConv2d(a, b, c.strides, c.padding);
          const loss = (a: TF.Tensor4D, b: TF.Tensor4D) => tf.sum(tf.mul(conv(a, b), toTf(dy)));
          expectClose(dx.data, tfValues(() => tf.grad((a: TF.Tensor) => loss(a as TF.Tensor4D, toTf(w) as TF.Tensor4D))(toTf(x) as TF.Tensor4D)), F32);
          expectClose(dw.data, tfValues(() => tf.grad((b: TF.Tensor) => loss(toTf(x) as TF.Tensor4D, b as TF.Tensor4D))(toTf(w) as TF.Tensor4D)), F32);
        });
      }
    });
  }

  it('infer the gradient shapes with an unknown batch', () => {
    const same = { padding: 'same', strides: [2, 2] };
    expect(infer('conv2dBackpropInput', [tt([null, 4, 4, 8]), tt([3, 3, 3, 8])], { ...same, inputSize: [8, 7] })).toEqual([tt([null, 8, 7, 3])]);
    expect(infer('conv2dBackpropFilter', [tt([null, 8, 7, 3]), tt([null, 4, 4, 8])], { ...same, kernelSize: [3, 3] })).toEqual([tt([3, 3, 3, 8])]);
    expect(infer('depthwiseConv2dBackpropInput', [tt([null, 6, 6, 6]), tt([3, 3, 3, 2])], { inputSize: [8, 8] })).toEqual([tt([null, 8, 8, 3])]);
    expect(infer('depthwiseConv2dBackpropFilter', [tt([null, 8, 8, 3]), tt([null, 6, 6, 6])], { kernelSize: [3, 3] })).toEqual([tt([3, 3, 3, 2])]);
  });

  it('reject a dy that is not the forward output, channel mismatches, bad attrs and arity', () => {
    expectShapeError(() => infer('conv2dBackpropInput', [tt([null, 6, 6, 8]), tt([3, 3, 3, 8])], { inputSize: [9, 9] }), 'conv2dBackpropInput', '(None, 6, 6, 8)', '7×7');
    expectShapeError(() => infer('conv2dBackpropInput', [tt([null, 6, 6, 4]), tt([3, 3, 3, 8])], { inputSize: [8, 8] }), 'conv2dBackpropInput', 'channels', '(3, 3, 3, 8)');
    expectShapeError(() => infer('conv2dBackpropFilter', [tt([null, 8, 8, 3]), tt([null, 5, 6, 4])], { kernelSize: [3, 3] }), 'conv2dBackpropFilter', '(None, 5, 6, 4)');
    expectShapeError(() => infer('depthwiseConv2dBackpropFilter', [tt([null, 8, 8, 3]), tt([null, 6, 6, 5])], { kernelSize: [3, 3] }), 'depthwiseConv2dBackpropFilter', 'multiple');
    expectShapeError(() => infer('conv2dBackpropInput', [tt([null, 6, 6, 8]), tt([3, 3, 3, 8])], { inputSize: [8] }), 'inputSize');
    expectShapeError(() => infer('conv2dBackpropFilter', [tt([null, 8, 8, 3]), tt([null, 6, 6, 4], 'int32')], { kernelSize: [3, 3] }), 'dtypes differ');
    for (const fam of FAMILIES) for (const op of [fam.input, fam.filter]) expect(() => getOp(op).infer([tt([2])], {}), op).toThrow(new RegExp(`^${op}: expects 2`));
  });
});
