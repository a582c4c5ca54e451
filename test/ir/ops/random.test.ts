import { describe, expect, it } from 'vitest';
import { hashU32, pcgHash, uniform } from '../../../src/ir/random.js';

const M = 1n << 32n;

/** The same PCG hash in BigInt arithmetic mod 2³²: checks the Math.imul / >>> 0 emulation of u32. */
function pcgBig(v: bigint): bigint {
  const state = (v * 747796405n + 2891336453n) % M;
  const word = (((state >> ((state >> 28n) + 4n)) ^ state) * 277803737n) % M;
  return (word >> 22n) ^ word;
}

describe('counter-based uniform', () => {
  it('hashes exactly like u32 arithmetic (as WGSL computes it)', () => {
    for (const v of [0, 1, 2, 12345, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff]) {
      expect(pcgHash(v)).toBe(Number(pcgBig(BigInt(v))));
    }
    for (let seed = 0; seed < 5; seed++) {
      for (const index of [0, 1, 99, 65535, 4_000_000_000]) {
        const want = pcgBig((BigInt(index) + pcgBig(BigInt(seed))) % M);
        expect(hashU32(seed, index)).toBe(Number(want));
      }
    }
  });

  it('is pinned: these values are what the WGSL port must reproduce', () => {
    expect([0, 1, 2, 3].map((i) => hashU32(0, i))).toEqual([817759070, 1583546800, 997735364, 4035309354]);
    expect([0, 1, 2].map((i) => hashU32(7, i))).toEqual([2158420637, 2809854175, 3686869381]);
    expect(uniform(0, 0)).toBe((817759070 >>> 8) / 2 ** 24);
  });

  it('wraps negative seeds mod 2³²', () => {
    expect(hashU32(-1, 5)).toBe(hashU32(0xffffffff, 5));
  });

  it('gives multiples of 2⁻²⁴ in [0, 1), f32-exact, spread evenly', () => {
    const n = 20_000;
    const buckets = new Array<number>(10).fill(0);
    let sum = 0;
    let malformed = 0;
    for (let i = 0; i < n; i++) {
      const u = uniform(123, i);
      if (!(u >= 0 && u < 1) || !Number.isInteger(u * 2 ** 24) || Math.fround(u) !== u) malformed++;
      buckets[Math.floor(u * 10)]++;
      sum += u;
    }
    expect(malformed).toBe(0);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    // χ² with 9 degrees of freedom: 27.9 is the 0.1% tail.
    const chi2 = buckets.reduce((s, b) => s + (b - n / 10) ** 2 / (n / 10), 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('streams of neighbouring seeds are uncorrelated', () => {
    const n = 10_000;
    let cov = 0;
    for (let i = 0; i < n; i++) cov += (uniform(1, i) - 0.5) * (uniform(2, i) - 0.5);
    // Var(u) = 1/12; the correlation estimate has standard deviation 1/√n = 0.01.
    expect(Math.abs((cov / n) * 12)).toBeLessThan(0.04);
  });
});
