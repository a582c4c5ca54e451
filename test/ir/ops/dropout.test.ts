import { describe, expect, it } from 'vitest';
import { uniform } from '../../../src/ir/random.js';
import { expectShapeError, infer, phase, randomNd, rng, run1, tt } from './helpers.js';

const N = 10_000;
const x = randomNd(rng(42), [100, 100], 0.5, 2);
const mask = (y: ArrayLike<number>): number[] => Array.from(y, (v) => (v === 0 ? 0 : 1));

describe('dropout', () => {
  it('in inference is the identity', () => {
    expect(run1('dropout', [x, phase(false)], { rate: 0.5, seed: 3 }).data).toEqual(x.data);
  });

  it('keeps element i when uniform(seed, i) ≥ rate and scales it by 1/(1 − rate)', () => {
    const y = run1('dropout', [x, phase(true)], { rate: 0.3, seed: 9 });
    const want = Array.from(x.data, (v, i) => (uniform(9, i) >= 0.3 ? v * (1 / 0.7) : 0));
    expect(Array.from(y.data)).toEqual(want);
  });

  it('same seed gives the same mask, a different seed a different one', () => {
    const a = mask(run1('dropout', [x, phase(true)], { rate: 0.5, seed: 1 }).data);
    const b = mask(run1('dropout', [x, phase(true)], { rate: 0.5, seed: 1 }).data);
    const c = mask(run1('dropout', [x, phase(true)], { rate: 0.5, seed: 2 }).data);
    expect(a).toEqual(b);
    // Independent masks at rate 0.5 agree on about half the elements.
    const agree = a.filter((v, i) => v === c[i]).length / N;
    expect(agree).toBeGreaterThan(0.45);
    expect(agree).toBeLessThan(0.55);
  });

  for (const rate of [0.1, 0.5, 0.8]) {
    it(`keeps a fraction ≈ ${1 - rate} of 10k elements at rate ${rate}`, () => {
      const kept = mask(run1('dropout', [x, phase(true)], { rate, seed: 7 }).data).reduce((s, v) => s + v, 0) / N;
      // Binomial standard deviation is ≤ 0.005 at n = 10⁴; allow 3σ.
      expect(Math.abs(kept - (1 - rate))).toBeLessThan(0.015);
    });
  }

  it('at rate 0 in training keeps everything unscaled', () => {
    expect(run1('dropout', [x, phase(true)], { rate: 0 }).data).toEqual(x.data);
  });

  it('infers the input type and rejects a rate outside [0, 1) and a non-bool phase', () => {
    expect(infer('dropout', [tt([null, 128]), tt([], 'bool')], { rate: 0.5 })).toEqual([tt([null, 128])]);
    expectShapeError(() => infer('dropout', [tt([null, 128]), tt([], 'bool')], { rate: 1 }), 'dropout', 'rate', '1');
    expectShapeError(() => infer('dropout', [tt([null, 128]), tt([], 'bool')], { rate: -0.1 }), 'dropout', 'rate');
    expectShapeError(() => infer('dropout', [tt([null, 128]), tt([], 'float32')], { rate: 0.5 }), 'dropout', 'training', 'bool');
  });
});
