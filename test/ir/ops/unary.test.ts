import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { UNARY } from '../../../src/ir/ops/unary.js';
import { expectClose, expectShapeError, F32, infer, nd, randoms, rng, run1, tfReady, tfValues, toTf, tt } from './helpers.js';

let tf: typeof TF;
beforeAll(async () => {
  tf = await tfReady();
});

type Oracle = (x: TF.Tensor) => TF.Tensor;

/** TF.js expression per unary op, and the input range where the op is defined. */
const ORACLES: Record<string, { tf: () => Oracle; lo?: number; hi?: number; tol?: { rtol: number; atol: number } }> = {
  identity: { tf: () => (x) => tf.clone(x) },
  neg: { tf: () => tf.neg },
  abs: { tf: () => tf.abs },
  sign: { tf: () => tf.sign },
  exp: { tf: () => tf.exp },
  log: { tf: () => tf.log, lo: 0.05, hi: 5 },
  sqrt: { tf: () => tf.sqrt, lo: 0.05, hi: 5 },
  rsqrt: { tf: () => tf.rsqrt, lo: 0.05, hi: 5 },
  square: { tf: () => tf.square },
  reciprocal: { tf: () => tf.reciprocal, lo: 0.1, hi: 5 },
  floor: { tf: () => tf.floor },
  ceil: { tf: () => tf.ceil },
  round: { tf: () => tf.round },
  sin: { tf: () => tf.sin },
  cos: { tf: () => tf.cos },
  tanh: { tf: () => tf.tanh },
  sigmoid: { tf: () => tf.sigmoid },
  relu: { tf: () => tf.relu },
  relu6: { tf: () => tf.relu6, lo: -3, hi: 9 },
  elu: { tf: () => tf.elu },
  selu: { tf: () => tf.selu },
  gelu: { tf: () => (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))), tol: { rtol: 1e-5, atol: 1e-6 } },
  geluTanh: {
    tf: () => (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
  },
  softplus: { tf: () => tf.softplus, lo: -20, hi: 20 },
  softsign: { tf: () => (x) => tf.div(x, tf.add(1, tf.abs(x))) },
  hardSigmoid: { tf: () => (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1), lo: -4, hi: 4 },
  swish: { tf: () => (x) => tf.mul(x, tf.sigmoid(x)) },
  // tf.erf is the Abramowitz–Stegun fit, good to ~1e-7 absolute.
  erf: { tf: () => tf.erf, tol: { rtol: 1e-5, atol: 1e-6 } },
  leakyRelu: { tf: () => (x) => tf.leakyRelu(x, 0.2) },
};

describe('unary ops', () => {
  it('every row of the unary table has an oracle here (logicalNot is checked on bools)', () => {
    expect(Object.keys(UNARY).sort()).toEqual([...Object.keys(ORACLES), 'logicalNot'].sort());
  });

  for (const [name, o] of Object.entries(ORACLES)) {
    it(`${name} matches TF.js on random inputs`, () => {
      const data = randoms(rng(name.length * 101 + 7), 257, o.lo ?? -4, o.hi ?? 4);
      const x = nd([257], data);
      const got = run1(name, [x]);
      expectClose(got.data, tfValues(() => o.tf()(toTf(x))), o.tol ?? F32);
    });
  }

  it('round is half to even', () => {
    const x = nd([9], [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, 2.51, -3.7]);
    expect(Array.from(run1('round', [x]).data)).toEqual([-2, -2, -0, 0, 2, 2, 0, 3, -4]);
  });

  it('sigmoid, softplus and gelu stay finite and exact at large |x|', () => {
    const x = nd([4], [-800, -40, 40, 800]);
    expectClose(run1('sigmoid', [x]).data, [0, Math.exp(-40), 1, 1], { rtol: 1e-12, atol: 0 });
    expectClose(run1('softplus', [x]).data, [0, Math.exp(-40), 40, 800], { rtol: 1e-12, atol: 0 });
    const g = run1('gelu', [nd([2], [-10, 10])]).data;
    // gelu(−10) = −10·Φ(−10) ≈ −7.62e−23: computed through erfc, not lost to 1 + erf cancellation.
    expectClose(g, [-7.619853024160527e-23, 10], { rtol: 1e-9, atol: 0 });
  });

  it('elu and leakyRelu take alpha (defaults 1 and 0.2)', () => {
    const x = nd([4], [-2, -0.5, 0.5, 3]);
    expectClose(run1('elu', [x], { alpha: 0.5 }).data, [0.5 * Math.expm1(-2), 0.5 * Math.expm1(-0.5), 0.5, 3], { rtol: 1e-14, atol: 0 });
    expectClose(run1('elu', [x]).data, [Math.expm1(-2), Math.expm1(-0.5), 0.5, 3], { rtol: 1e-14, atol: 0 });
    expectClose(run1('leakyRelu', [x]).data, [-0.4, -0.1, 0.5, 3], { rtol: 1e-14, atol: 0 });
    expectClose(run1('leakyRelu', [x], { alpha: 0.3 }).data, [-0.6, -0.15, 0.5, 3], { rtol: 1e-14, atol: 0 });
  });

  it('selu uses the Keras constants', () => {
    const y = run1('selu', [nd([2], [1, -1])]).data;
    expectClose(y, [1.0507009873554805, 1.0507009873554805 * 1.6732632423543772 * Math.expm1(-1)], { rtol: 1e-15, atol: 0 });
  });

  it('logicalNot maps bool to bool', () => {
    const y = run1('logicalNot', [nd([3], [1, 0, 1], 'bool')]);
    expect(y.dtype).toBe('bool');
    expect(Array.from(y.data)).toEqual([0, 1, 0]);
  });

  it('stores at the interpreter precision', () => {
    const x = nd([2], [1 / 3, 2]);
    expect(run1('exp', [x], {}, 'float32').data).toBeInstanceOf(Float32Array);
    expect(run1('exp', [x], {}, 'float64').data).toBeInstanceOf(Float64Array);
  });

  it('keeps null dims and rejects the wrong dtype', () => {
    expect(infer('tanh', [tt([null, 3])])).toEqual([tt([null, 3])]);
    expect(infer('identity', [tt([null], 'int32')])).toEqual([tt([null], 'int32')]);
    expectShapeError(() => infer('relu', [tt([2, 3], 'int32')]), 'relu', 'float', 'int32', '(2, 3)');
    expectShapeError(() => infer('logicalNot', [tt([null, 3])]), 'logicalNot', 'bool', '(None, 3)');
  });
});
