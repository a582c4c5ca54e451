import { describe, expect, it } from 'vitest';
import { filterGradPlan, type FilterGradGeometry } from '../../src/codegen/lower/conv-filter-grad.js';

/** A stride-1 'same' conv's geometry as the filter gradient sees it. */
const same = (n: number, H: number, W: number, CIN: number, C: number, KH: number, KW: number): FilterGradGeometry => ({ n, H, W, CIN, OH: H, OW: W, C, KH, KW, TOP: (KH - 1) >> 1, LEFT: (KW - 1) >> 1 });

describe('filterGradPlan', () => {
  it('multiplies 16 pixels a group for the ResNet 3×3 conv (rows of 32)', () => {
    expect(filterGradPlan(same(256, 32, 32, 32, 32, 3, 3))).toMatchObject({ OWB: 32, U: 16, CB: 16 });
  });
  it('takes the largest group that divides the segment: 8 for rows of 5 padded to 8, 4 for rows of 10 padded to 12', () => {
    expect(filterGradPlan(same(2, 5, 5, 8, 8, 3, 3))).toMatchObject({ OWB: 8, U: 8 });
    expect(filterGradPlan(same(2, 10, 10, 8, 8, 3, 3))).toMatchObject({ OWB: 12, U: 4 });
  });
  it('keeps a tall kernel\'s staged values within the register budget: 8 pixels a group for 9×1', () => {
    expect(filterGradPlan(same(2, 12, 30, 9, 4, 9, 1))).toMatchObject({ OWB: 32, U: 8, CB: 8 });
  });
  it('splits the pixels of a step over 8 invocation rows below 8 input channels, each row its own partial sums', () => {
    expect(filterGradPlan(same(256, 32, 32, 3, 32, 3, 3))).toMatchObject({ CB: 3, U: 4, R: 8, partialSets: 2048 });
    const two = filterGradPlan({ ...same(256, 28, 28, 2, 32, 3, 3), OH: 26, OW: 26, TOP: 0, LEFT: 0 })!;
    expect(two).toMatchObject({ OWB: 28, R: 7 });
    expect(two.partialSets).toBe(two.chunks * 7);
  });
  it('leaves one input channel (the CNN\'s conv) to the split-K GEMM', () => {
    expect(filterGradPlan({ ...same(256, 28, 28, 1, 32, 3, 3), OH: 26, OW: 26, TOP: 0, LEFT: 0 })).toBeUndefined();
  });
  it('gives a pixel-rows chunk at least 8 steps, so a small problem writes few partial sums', () => {
    expect(filterGradPlan(same(8, 6, 6, 2, 4, 3, 3))).toMatchObject({ steps: 48, CH: 8, chunks: 6 });
  });
  it('leaves out convs with more accumulators than pixel rows keep, more than 64 outputs or more than 9 taps', () => {
    expect(filterGradPlan(same(2, 8, 8, 7, 8, 3, 3))).toBeUndefined();
    expect(filterGradPlan(same(2, 8, 8, 8, 65, 3, 3))).toBeUndefined();
    expect(filterGradPlan(same(2, 8, 8, 8, 8, 5, 5))).toBeUndefined();
  });
});
