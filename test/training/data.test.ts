import { describe, expect, it } from 'vitest';
import { permutation, toColumns } from '../../src/training/data.js';

describe('epoch shuffles', () => {
  it('are permutations, the same for a seed, different across seeds', () => {
    const a = permutation(1000, 1);
    expect(new Set(a).size).toBe(1000);
    expect(Array.from(permutation(1000, 1))).toEqual(Array.from(a));
    expect(Array.from(permutation(1000, 2))).not.toEqual(Array.from(a));
  });
  it('move every position about evenly (no short cycles in the low bits)', () => {
    // Where sample 0 lands over many seeds: each tenth of the range gets about a tenth of the seeds.
    const bins = new Array(10).fill(0);
    for (let seed = 0; seed < 2000; seed++) bins[Math.floor(permutation(100, seed).indexOf(0) / 10)]++;
    for (const b of bins) expect(Math.abs(b - 200)).toBeLessThan(60);
  });
});

describe('data columns', () => {
  it('name the slot and the sizes when samples do not divide evenly or disagree', () => {
    expect(() => toColumns(new Float32Array(10), [{ name: 'img', perSample: 4, dtype: 'float32' }], 'input')).toThrow(/input 'img': 10 values are not whole samples of 4/);
    expect(() => toColumns([new Float32Array(8), new Float32Array(9)], [{ name: 'a', perSample: 4, dtype: 'float32' }, { name: 'b', perSample: 3, dtype: 'float32' }], 'input')).toThrow(/input 'b' has 3 samples, but the others have 2/);
  });
});
