/**
 * The split-K GEMM's workgroup grid: a problem with more blocks along one axis than one dispatch
 * holds (65535 per dimension) is folded into x and y, so any size compiles; one that fits keeps the
 * plain [column blocks, row blocks, batches] grid and the unfolded shader.
 */
import { describe, expect, it } from 'vitest';
import { MAX_GROUPS } from '../../src/codegen/indexing.js';
import { splitGemm, splitGrid, sumLanes } from '../../src/codegen/lower/split-gemm.js';

const covers = (dispatch: readonly number[], blocks: number) => dispatch[0] * dispatch[1] * dispatch[2] >= blocks && dispatch.every((d) => d >= 1 && d <= MAX_GROUPS);

describe('the split GEMM grid', () => {
  it('keeps a grid that fits one dispatch as it is', () => {
    expect(splitGrid(3, 100, 7)).toEqual({ dispatch: [3, 100, 7] });
    const k = splitGemm(4096, 32, 288, 1, []);
    expect(k.data.folded).toBe(false);
    expect(k.dispatch[2]).toBe(1);
  });

  it('folds row blocks past the limit into x and y, covering every block with under one row of spare workgroups', () => {
    for (const [gx, gy, batches] of [[1, MAX_GROUPS + 1, 1], [3, 70_000, 1], [2, 70_000, 3], [MAX_GROUPS + 2, 1, 1], [1, 1, MAX_GROUPS + 5], [1, 131_072, 1]]) {
      const blocks = gx * gy * batches;
      const { dispatch, fold } = splitGrid(gx, gy, batches);
      expect(fold, `${gx}×${gy}×${batches}`).toEqual({ DX: dispatch[0], blocks, GX: gx, GY: gy, GXY: gx * gy });
      expect(covers(dispatch, blocks), `${gx}×${gy}×${batches} → [${dispatch}]`).toBe(true);
      expect(dispatch[2]).toBe(1);
      expect(dispatch[0] * dispatch[1] - blocks).toBeLessThan(dispatch[0]);
    }
  });

  it('compiles the ResNet input gradient at 4096 samples per device (the 4194304×32×288 product of issue 7)', () => {
    const k = splitGemm(4_194_304, 32, 288, 1, []);
    expect(k.data.folded).toBe(true);
    expect(covers(k.dispatch, Math.ceil(4_194_304 / k.data.BM) * Math.ceil(32 / k.data.BN))).toBe(true);
  });

  it('refuses only a grid past 65535² workgroups, naming it', () => {
    expect(() => splitGrid(MAX_GROUPS + 1, MAX_GROUPS, 2)).toThrow(/split GEMM grid 65536×65535×2 has 8589803520 blocks/);
  });
});

describe('sumLanes', () => {
  it('shares few outputs among lanes, at least 4 chunks a lane, at most 64 lanes', () => {
    expect(sumLanes(288, 169)).toBe(32);
    expect(sumLanes(864, 256)).toBe(64);
    expect(sumLanes(9216, 512)).toBe(8);
  });
  it('keeps one thread an output for many outputs or few chunks', () => {
    expect(sumLanes(131072, 512)).toBe(1);
    expect(sumLanes(288, 7)).toBe(1);
  });
});
