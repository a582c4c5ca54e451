import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ModelError, ShapeError } from '../../src/ir/errors.js';
import {
  INITIALIZER_NAMES, TRUNCATED_NORMAL_STDDEV_CORRECTION as C, computeFans, constant, getInitializer, glorotNormal,
  glorotUniform, heNormal, heUniform, identity, lecunNormal, lecunUniform, ones, orthogonal, randomNormal,
  randomUniform, truncatedNormal, varianceScaling, zeros, type Initializer,
} from '../../src/frontend/initializers.js';
import { Prng, setGlobalSeed } from '../../src/frontend/prng.js';

tf.setBackend('cpu');

/** mean, population std, min and max, in float64. */
function stats(a: ArrayLike<number>) {
  let s = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < a.length; i++) { s += a[i]!; min = Math.min(min, a[i]!); max = Math.max(max, a[i]!); }
  const mean = s / a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / a.length), min, max, n: a.length };
}

/**
 * Sample statistics match a distribution with this mean and std: the mean within 6 standard errors
 * (σ/√n), the std within 2% (its relative standard error at n = 1e5 is ~0.2%).
 */
function expectMoments(a: Float32Array, mean: number, std: number) {
  const s = stats(a);
  expect(Math.abs(s.mean - mean)).toBeLessThanOrEqual((6 * std) / Math.sqrt(s.n));
  expect(Math.abs(s.std - std) / std).toBeLessThanOrEqual(0.02);
}

const BIG = [400, 250] as const; // 1e5 samples, fanIn 400, fanOut 250

describe('prng', () => {
  it('same seed gives the same stream, different seeds differ', () => {
    const a = new Prng(7), b = new Prng(7), c = new Prng(8);
    const xs = Array.from({ length: 8 }, () => a.uniform());
    expect(Array.from({ length: 8 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.uniform())).not.toEqual(xs);
  });
  it('uniform in [0,1) with mean 1/2, std 1/√12; normal with mean 0, std 1', () => {
    const r = new Prng(1);
    const u = Float32Array.from({ length: 100_000 }, () => r.uniform());
    expect(stats(u).min).toBeGreaterThanOrEqual(0);
    expect(stats(u).max).toBeLessThan(1);
    expectMoments(u, 0.5, 1 / Math.sqrt(12));
    expectMoments(Float32Array.from({ length: 100_000 }, () => r.normal()), 0, 1);
  });
  it('rejects non-finite seeds', () => {
    expect(() => new Prng(NaN)).toThrow(RangeError);
  });
});

describe('computeFans (Keras rules)', () => {
  it.each([
    [[], 1, 1], [[7], 7, 7], [[3, 5], 3, 5],
    [[4, 16, 32], 64, 128], // conv1d kernel [k, in, out]
    [[3, 3, 64, 128], 576, 1152], // conv2d kernel [kh, kw, in, out]
    [[2, 2, 2, 3, 4], 24, 32], // conv3d kernel
  ])('%j → fanIn %i, fanOut %i', (shape, fanIn, fanOut) => {
    expect(computeFans(shape)).toEqual({ fanIn, fanOut });
  });
});

describe('fixed initializers', () => {
  it('zeros, ones, constant, identity', () => {
    expect(Array.from(zeros().init([2, 3]))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(ones().init([4]))).toEqual([1, 1, 1, 1]);
    expect(Array.from(constant({ value: 2.5 }).init([2, 1]))).toEqual([2.5, 2.5]);
    expect(ones().init([]).length).toBe(1);
    expect(Array.from(identity({ gain: 2 }).init([2, 3]))).toEqual([2, 0, 0, 0, 2, 0]);
    expect(() => identity().init([2, 2, 2])).toThrow(ShapeError);
  });
  it('rejects bad shapes and dtypes', () => {
    expect(() => zeros().init([2, -1])).toThrow(ShapeError);
    expect(() => zeros().init([2.5])).toThrow(ShapeError);
    expect(() => zeros().init([2], 'int32' as 'float32')).toThrow(ModelError);
  });
});

describe('random initializers: sample statistics match the formula', () => {
  it('randomNormal(mean 0.5, stddev 2)', () => {
    expectMoments(randomNormal({ mean: 0.5, stddev: 2, seed: 1 }).init(BIG), 0.5, 2);
  });
  it('randomUniform(-3, 1): within [min, max), uniform moments', () => {
    const a = randomUniform({ minval: -3, maxval: 1, seed: 2 }).init(BIG);
    const s = stats(a);
    expect(s.min).toBeGreaterThanOrEqual(-3);
    expect(s.max).toBeLessThanOrEqual(1);
    expect(s.max - s.min).toBeGreaterThan(3.99); // fills the interval
    expectMoments(a, -1, 4 / Math.sqrt(12));
  });
  it('truncatedNormal(mean 1, stddev 0.5): within 2σ, std 0.8796σ', () => {
    const a = truncatedNormal({ mean: 1, stddev: 0.5, seed: 3 }).init(BIG);
    const s = stats(a);
    expect(s.min).toBeGreaterThanOrEqual(1 - 2 * 0.5 - 1e-6);
    expect(s.max).toBeLessThanOrEqual(1 + 2 * 0.5 + 1e-6);
    expect(s.max).toBeGreaterThan(1 + 1.95 * 0.5); // truncated at 2σ, not narrower
    expectMoments(a, 1, C * 0.5);
  });
  it('Keras defaults: randomNormal/truncatedNormal stddev 0.05, randomUniform ±0.05', () => {
    expect(randomNormal().getConfig()).toEqual({ mean: 0, stddev: 0.05, seed: null });
    expect(truncatedNormal().getConfig()).toEqual({ mean: 0, stddev: 0.05, seed: null });
    expect(randomUniform().getConfig()).toEqual({ minval: -0.05, maxval: 0.05, seed: null });
  });
});

describe('varianceScaling', () => {
  const [fanIn, fanOut] = BIG;
  it.each([
    ['fanIn', fanIn], ['fanOut', fanOut], ['fanAvg', (fanIn + fanOut) / 2],
  ] as const)('mode %s: uniform limit sqrt(3·scale/n), normal std sqrt(scale/n) truncated at 2σ/0.8796', (mode, n) => {
    const scale = 1.7;
    const u = varianceScaling({ scale, mode, distribution: 'uniform', seed: 4 }).init(BIG);
    const limit = Math.sqrt((3 * scale) / n);
    expect(Math.max(-stats(u).min, stats(u).max)).toBeLessThanOrEqual(limit);
    expectMoments(u, 0, limit / Math.sqrt(3));
    for (const distribution of ['normal', 'truncatedNormal', 'truncated_normal'] as const) {
      const t = varianceScaling({ scale, mode, distribution, seed: 5 }).init(BIG);
      const std = Math.sqrt(scale / n);
      const st = stats(t);
      expect(Math.max(-st.min, st.max)).toBeLessThanOrEqual((2 * std) / C + 1e-6);
      expectMoments(t, 0, std);
    }
    const g = varianceScaling({ scale, mode, distribution: 'untruncatedNormal', seed: 6 }).init(BIG);
    expect(Math.max(-stats(g).min, stats(g).max)).toBeGreaterThan(3.5 * Math.sqrt(scale / n)); // really untruncated
    expectMoments(g, 0, Math.sqrt(scale / n));
  });
  it('accepts Keras snake_case values and normalizes them in the config', () => {
    const v = varianceScaling({ scale: 2, mode: 'fan_out', distribution: 'untruncated_normal', seed: 1 });
    expect(v.getConfig()).toEqual({ scale: 2, mode: 'fanOut', distribution: 'untruncatedNormal', seed: 1 });
  });
  it('rejects bad options with ModelError', () => {
    expect(() => varianceScaling({ scale: 0 })).toThrow(ModelError);
    expect(() => varianceScaling({ mode: 'fanSideways' as 'fanIn' })).toThrow(/fanIn, fanOut, fanAvg/);
    expect(() => varianceScaling({ distribution: 'cauchy' as 'normal' })).toThrow(ModelError);
    expect(() => randomNormal({ seed: 'x' as unknown as number })).toThrow(ModelError);
  });
});

describe('Glorot / He / LeCun presets (dense and conv shapes)', () => {
  const conv = [3, 3, 32, 64] as const; // fanIn 288, fanOut 576, 18432 samples
  const cases: [string, (a?: { seed?: number }) => Initializer, 'uniform' | 'normal', (fi: number, fo: number) => number][] = [
    ['GlorotUniform', glorotUniform, 'uniform', (fi, fo) => 2 / (fi + fo)],
    ['GlorotNormal', glorotNormal, 'normal', (fi, fo) => 2 / (fi + fo)],
    ['HeUniform', heUniform, 'uniform', (fi) => 2 / fi],
    ['HeNormal', heNormal, 'normal', (fi) => 2 / fi],
    ['LecunUniform', lecunUniform, 'uniform', (fi) => 1 / fi],
    ['LecunNormal', lecunNormal, 'normal', (fi) => 1 / fi],
  ];
  it.each(cases)('%s has variance per formula, within its bound', (className, make, dist, variance) => {
    for (const shape of [BIG, conv]) {
      const { fanIn, fanOut } = computeFans(shape);
      const init = make({ seed: 11 });
      expect(init.className).toBe(className);
      expect(init.getConfig()).toEqual({ seed: 11 }); // Keras serializes presets as {seed}
      const a = init.init(shape), s = stats(a), std = Math.sqrt(variance(fanIn, fanOut));
      const bound = dist === 'uniform' ? Math.sqrt(3) * std : (2 * std) / C;
      expect(Math.max(-s.min, s.max)).toBeLessThanOrEqual(bound + 1e-6);
      expect(Math.max(-s.min, s.max)).toBeGreaterThan(0.97 * bound);
      expect(Math.abs(s.mean)).toBeLessThanOrEqual((6 * std) / Math.sqrt(s.n));
      expect(Math.abs(s.std - std) / std).toBeLessThanOrEqual(0.03); // conv case has 18k samples
    }
  });
});

describe('parity with TF.js initializers (same bounds and spread, not the same values)', () => {
  const shape = [300, 200];
  it.each([
    ['glorotUniform', glorotUniform, tf.initializers.glorotUniform],
    ['heUniform', heUniform, tf.initializers.heUniform],
    ['leCunUniform', lecunUniform, tf.initializers.leCunUniform],
  ] as const)('%s: same limit and std', (_, ours, theirs) => {
    const a = stats(ours({ seed: 1 }).init(shape));
    const b = stats(theirs({ seed: 1 }).apply(shape).dataSync());
    expect(Math.max(-a.min, a.max) / Math.max(-b.min, b.max)).toBeCloseTo(1, 2);
    expect(Math.abs(a.std / b.std - 1)).toBeLessThanOrEqual(0.02);
  });
  it.each([
    ['glorotNormal', glorotNormal, tf.initializers.glorotNormal],
    ['heNormal', heNormal, tf.initializers.heNormal],
  ] as const)('%s: TF.js 4.x omits the 0.8796 truncation correction, so its std is C× ours (Keras is ours)', (_, ours, theirs) => {
    const a = stats(ours({ seed: 1 }).init(shape));
    const b = stats(theirs({ seed: 1 }).apply(shape).dataSync());
    expect(Math.abs(b.std / (C * a.std) - 1)).toBeLessThanOrEqual(0.02);
  });
  it('a TF.js-serialized VarianceScaling config loads with the same limit', () => {
    const t = tf.initializers.glorotUniform({ seed: 3 });
    const ours = getInitializer({ className: t.getClassName(), config: t.getConfig() as Record<string, unknown> });
    expect(ours.getConfig()).toEqual({ scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: 3 });
    const s = stats(ours.init(shape));
    expect(Math.max(-s.min, s.max)).toBeLessThanOrEqual(Math.sqrt(6 / 500));
  });
});

describe('orthogonal', () => {
  /** Max |(AᵀA or AAᵀ) - gain²·I| for a rows×cols matrix, contracting over the longer side. */
  function orthoError(w: Float32Array, rows: number, cols: number, gain: number): number {
    const n = Math.min(rows, cols), at = (i: number, j: number) => w[i * cols + j]!;
    let err = 0;
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) {
      let d = 0;
      for (let k = 0; k < Math.max(rows, cols); k++) d += rows >= cols ? at(k, p) * at(k, q) : at(p, k) * at(q, k);
      err = Math.max(err, Math.abs(d - (p === q ? gain * gain : 0)));
    }
    return err;
  }
  it.each([
    [[64, 32], 64, 32, 1], [[32, 64], 32, 64, 1], [[50, 50], 50, 50, 1.5], [[3, 3, 4, 8], 36, 8, 2],
  ])('%j: WᵀW (tall) or WWᵀ (wide) = gain²·I within 1e-5·gain²', (shape, rows, cols, gain) => {
    const w = orthogonal({ gain, seed: 9 }).init(shape);
    expect(w.length).toBe(rows * cols);
    expect(orthoError(w, rows, cols, gain)).toBeLessThanOrEqual(1e-5 * gain * gain); // float32 rounding
  });
  it('TF.js orthogonal has the same property (same flattening rule)', () => {
    const w = tf.initializers.orthogonal({ seed: 2, gain: 1 }).apply([2, 5, 4]).dataSync() as Float32Array;
    expect(orthoError(w, 10, 4, 1)).toBeLessThanOrEqual(1e-4);
  });
  it('is random (entries not all equal magnitude) and needs rank >= 2', () => {
    const s = stats(orthogonal({ seed: 1 }).init([100, 100]));
    expect(s.std).toBeCloseTo(0.1, 2); // each entry of a random orthogonal n×n has variance 1/n
    expect(() => orthogonal().init([5])).toThrow(ShapeError);
  });
});

describe('seeding', () => {
  it('same seed → same values (across instances and calls); different seed → different', () => {
    const a = glorotUniform({ seed: 42 });
    expect(a.init([20, 10])).toEqual(glorotUniform({ seed: 42 }).init([20, 10]));
    expect(a.init([20, 10])).toEqual(a.init([20, 10]));
    expect(a.init([20, 10])).not.toEqual(glorotUniform({ seed: 43 }).init([20, 10]));
    expect(orthogonal({ seed: 5 }).init([6, 4])).toEqual(orthogonal({ seed: 5 }).init([6, 4]));
  });
  it('unseeded: fresh values per call, repeatable after setGlobalSeed', () => {
    const u = randomNormal();
    setGlobalSeed(123);
    const first = [u.init([50]), u.init([50])];
    expect(first[0]).not.toEqual(first[1]);
    setGlobalSeed(123);
    expect([u.init([50]), u.init([50])]).toEqual(first);
    setGlobalSeed(124);
    expect(u.init([50])).not.toEqual(first[0]);
  });
});

describe('getInitializer', () => {
  it.each([
    ['glorot_uniform', 'GlorotUniform'], ['glorotUniform', 'GlorotUniform'], ['GlorotUniform', 'GlorotUniform'],
    ['glorot_normal', 'GlorotNormal'], ['he_normal', 'HeNormal'], ['heNormal', 'HeNormal'], ['he_uniform', 'HeUniform'],
    ['lecun_normal', 'LecunNormal'], ['leCunNormal', 'LecunNormal'], ['leCunUniform', 'LecunUniform'],
    ['zeros', 'Zeros'], ['zero', 'Zeros'], ['ones', 'Ones'], ['constant', 'Constant'], ['identity', 'Identity'],
    ['random_normal', 'RandomNormal'], ['randomUniform', 'RandomUniform'], ['truncated_normal', 'TruncatedNormal'],
    ['variance_scaling', 'VarianceScaling'], ['orthogonal', 'Orthogonal'], ['uniform', 'RandomUniform'],
  ])('%s → %s', (name, className) => {
    expect(getInitializer(name).className).toBe(className);
  });
  it('returns instances as is', () => {
    const i = heNormal({ seed: 1 });
    expect(getInitializer(i)).toBe(i);
  });
  it('unknown names throw ModelError naming the identifier and the known names', () => {
    expect(() => getInitializer('glorot_uniformm')).toThrow(ModelError);
    expect(() => getInitializer('glorot_uniformm')).toThrow(/"glorot_uniformm".*glorot_uniform.*he_normal/);
    expect(() => getInitializer({ className: 'Xavier', config: {} })).toThrow(/"Xavier".*GlorotUniform/);
    expect(INITIALIZER_NAMES).toContain('lecun_uniform');
  });
  it('configs round-trip through JSON: same class, config and values', () => {
    const seeded: Initializer[] = [
      zeros(), ones(), constant({ value: 3 }), randomNormal({ mean: 1, stddev: 2, seed: 1 }),
      randomUniform({ minval: 0, maxval: 5, seed: 2 }), truncatedNormal({ seed: 3 }),
      varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'uniform', seed: 4 }), glorotUniform({ seed: 5 }),
      glorotNormal({ seed: 6 }), heUniform({ seed: 7 }), heNormal({ seed: 8 }), lecunUniform({ seed: 9 }),
      lecunNormal({ seed: 10 }), orthogonal({ gain: 2, seed: 11 }), identity({ gain: 3 }),
    ];
    for (const a of seeded) {
      const json = JSON.parse(JSON.stringify({ className: a.className, config: a.getConfig() }));
      const b = getInitializer(json);
      expect(b.className).toBe(a.className);
      expect(b.getConfig()).toEqual(a.getConfig());
      expect(b.init([12, 8])).toEqual(a.init([12, 8]));
    }
  });
  it('loads Keras JSON (class_name, snake_case values, extra keys ignored)', () => {
    const vs = getInitializer({ class_name: 'VarianceScaling', config: { scale: 2, mode: 'fan_in', distribution: 'truncated_normal', seed: null } } as never);
    expect(vs.getConfig()).toEqual({ scale: 2, mode: 'fanIn', distribution: 'truncatedNormal', seed: null });
    // tf.keras 2.x wrote presets with the full VarianceScaling config; the preset's own values win.
    const g = getInitializer({ className: 'GlorotUniform', config: { seed: 1, scale: 1, mode: 'fan_avg', distribution: 'uniform' } });
    expect(g.init([5, 5])).toEqual(glorotUniform({ seed: 1 }).init([5, 5]));
  });
});
