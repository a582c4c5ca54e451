import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import { getRegularizer, l1, l1l2, l2, regularizerPenalty } from '../../src/frontend/regularizers.js';
import { getConstraint, maxNorm, minMaxNorm, nonNeg, unitNorm } from '../../src/frontend/constraints.js';
import { Prng } from '../../src/frontend/prng.js';

tf.setBackend('cpu');

/** Random values in [-2, 2), never zeros-only. */
function randomValues(n: number, seed: number): Float32Array {
  const r = new Prng(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-2, 2));
}

/** |x − y| ≤ atol + rtol·|y| elementwise. */
function expectClose(x: ArrayLike<number>, y: ArrayLike<number>, rtol: number, atol: number) {
  expect(x.length).toBe(y.length);
  for (let i = 0; i < y.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(atol + rtol * Math.abs(y[i]!));
}

describe('regularizers', () => {
  it('defaults: l1 and l2 are 0.01 on their own term, l1l2 0.01 on both', () => {
    expect(l1().getConfig()).toEqual({ l1: 0.01, l2: 0 });
    expect(l2().getConfig()).toEqual({ l1: 0, l2: 0.01 });
    expect(l1l2().getConfig()).toEqual({ l1: 0.01, l2: 0.01 });
    expect(l1(0.3).getConfig()).toEqual({ l1: 0.3, l2: 0 }); // Keras positional style
    expect(l2({ l2: 0.2 }).getConfig()).toEqual({ l1: 0, l2: 0.2 }); // TF.js object style
    expect(l1l2({ l1: 0.1, l2: 0.2 }).className).toBe('L1L2');
    expect(l1l2({ l1: 0.5, l2: 0.25 }).describe()).toBe('0.5·Σ|w| + 0.25·Σw²');
    expect(l1l2({ l1: 0, l2: 0 }).describe()).toBe('0');
  });
  it('penalty = l1·Σ|w| + l2·Σw² (hand-computed)', () => {
    const w = Float32Array.from([1, -2, 0.5]);
    expect(regularizerPenalty(l1l2({ l1: 0.1, l2: 0.2 }), w)).toBeCloseTo(0.1 * 3.5 + 0.2 * 5.25, 12);
    expect(regularizerPenalty(null, w)).toBe(0);
  });
  it.each([
    [0.01, 0], [0, 0.02], [0.003, 0.07],
  ])('penalty matches TF.js L1L2(l1=%f, l2=%f) within rtol 1e-5', (a, b) => {
    const w = randomValues(1000, 3);
    const theirs = tf.regularizers.l1l2({ l1: a, l2: b }).apply(tf.tensor(w)).dataSync()[0]!;
    expectClose([regularizerPenalty(l1l2({ l1: a, l2: b }), w)], [theirs], 1e-5, 1e-7);
  });
  it.each([
    ['l1', { l1: 0.01, l2: 0 }], ['L1', { l1: 0.01, l2: 0 }], ['l2', { l1: 0, l2: 0.01 }],
    ['l1_l2', { l1: 0.01, l2: 0.01 }], ['l1l2', { l1: 0.01, l2: 0.01 }], ['L1L2', { l1: 0.01, l2: 0.01 }],
  ])('getRegularizer(%s)', (name, config) => {
    expect(getRegularizer(name)!.getConfig()).toEqual(config);
  });
  it('getRegularizer: configs (TF.js, Keras, Keras 3 L1/L2), instances, null', () => {
    expect(getRegularizer({ className: 'L1L2', config: { l1: 0.1, l2: 0.2 } })!.getConfig()).toEqual({ l1: 0.1, l2: 0.2 });
    expect(getRegularizer({ class_name: 'L1L2', config: { l1: 0, l2: 1e-4 } } as never)!.getConfig()).toEqual({ l1: 0, l2: 1e-4 });
    expect(getRegularizer({ className: 'L2', config: { l2: 0.5 } })!.getConfig()).toEqual({ l1: 0, l2: 0.5 });
    const r = l1(0.2);
    expect(getRegularizer(r)).toBe(r);
    expect(getRegularizer(null)).toBeNull();
    expect(getRegularizer(undefined)).toBeNull();
  });
  it('config round-trips through JSON', () => {
    const r = l1l2({ l1: 0.03, l2: 0.004 });
    const back = getRegularizer(JSON.parse(JSON.stringify({ className: r.className, config: r.getConfig() })))!;
    expect(back.getConfig()).toEqual(r.getConfig());
    expect(regularizerPenalty(back, randomValues(10, 1))).toBe(regularizerPenalty(r, randomValues(10, 1)));
  });
  it('unknown names and bad factors throw ModelError with a helpful message', () => {
    expect(() => getRegularizer('l3')).toThrow(ModelError);
    expect(() => getRegularizer('l3')).toThrow(/"l3".*l1_l2/);
    expect(() => getRegularizer({ className: 'OrthogonalRegularizer', config: {} })).toThrow(/OrthogonalRegularizer/);
    expect(() => l1(-1)).toThrow(ModelError);
    expect(() => getRegularizer({ className: 'L1L2', config: { l1: 'big' } })).toThrow(/'l1'/);
  });
});

describe('constraints', () => {
  const shape = [3, 3, 4, 5];
  const w = randomValues(3 * 3 * 4 * 5, 7);
  const tfApply = (c: { apply(t: tf.Tensor): tf.Tensor }) => c.apply(tf.tensor(w, shape)).dataSync();
  it.each([
    ['maxNorm axis 0', maxNorm({ maxValue: 1.5, axis: 0 }), tf.constraints.maxNorm({ maxValue: 1.5, axis: 0 })],
    ['maxNorm axes [0,1,2]', maxNorm({ maxValue: 3, axis: [0, 1, 2] }), tf.constraints.maxNorm({ maxValue: 3, axis: [0, 1, 2] as unknown as number })], // typed number, reduces arrays at runtime,
    ['unitNorm axis -1', unitNorm({ axis: -1 }), tf.constraints.unitNorm({ axis: -1 })],
    ['minMaxNorm', minMaxNorm({ minValue: 2, maxValue: 3, rate: 0.5, axis: 2 }), tf.constraints.minMaxNorm({ minValue: 2, maxValue: 3, rate: 0.5, axis: 2 })],
    ['nonNeg', nonNeg(), tf.constraints.nonNeg()],
  ] as const)('%s matches TF.js within rtol 1e-5', (_, ours, theirs) => {
    const got = ours.apply(w, shape);
    expectClose(got, tfApply(theirs), 1e-5, 1e-6);
    const back = getConstraint(JSON.parse(JSON.stringify({ className: ours.className, config: ours.getConfig() })))!;
    expect(back.apply(w, shape)).toEqual(got); // config round-trip
  });
  it('lookup by name, defaults, errors', () => {
    expect(getConstraint('max_norm')!.getConfig()).toEqual({ maxValue: 2, axis: 0 });
    expect(getConstraint('nonNeg')!.className).toBe('NonNeg');
    expect(getConstraint('unit_norm')!.className).toBe('UnitNorm');
    expect(getConstraint({ className: 'MinMaxNorm', config: {} })!.getConfig()).toEqual({ minValue: 0, maxValue: 1, rate: 1, axis: 0 });
    expect(getConstraint(null)).toBeNull();
    expect(() => getConstraint('radial')).toThrow(/"radial".*max_norm/);
    expect(() => maxNorm({ axis: 4 }).apply(w, shape)).toThrow(ShapeError);
  });
});
