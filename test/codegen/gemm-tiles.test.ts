/** Register-blocked GEMM tilings: which one a problem gets, given the device's workgroup memory. */
import { describe, expect, it } from 'vitest';
import { GEMM_TILINGS, SHALLOW_K, blockEdges, gemmStorage, gemmTiles } from '../../src/codegen/lower/gemm.js';
import { haloTile } from '../../src/codegen/lower/conv-halo.js';
import { convGeometry } from '../../src/codegen/lower/conv.js';
import { PROFILES, profileForAdapter } from '../../src/codegen/profile.js';

const [WIDE, SQUARE] = [{ WX: 32, WY: 8, TM: 16, TN: 8, BK: 16 }, { WX: 16, WY: 16, TM: 8, TN: 8, BK: 8 }];

describe('GEMM tilings', () => {
  it('a large GEMM gets 128×256 blocks where the device gives 24.5 KiB of workgroup memory, 128×128 within WebGPU’s default 16 KiB', () => {
    expect(gemmStorage(WIDE)).toBe(25088);
    expect(gemmTiles(4096, 4096, 1, PROFILES.gpu.minWorkgroups, 4096, 49152)).toEqual(WIDE);
    expect(gemmTiles(4096, 4096, 1, PROFILES.gpu.minWorkgroups, 4096)).toEqual(SQUARE);
    expect(gemmTiles(4096, 4096, 1, PROFILES.gpu.minWorkgroups, 4096, 16384)).toEqual(SQUARE);
  });

  it('blocks of 128×128 and more only where they give the GPU two waves: 128×64 for the bench MLP’s Denses at batch 4096 (4096×512)', () => {
    expect(gemmTiles(4096, 512, 1, PROFILES.gpu.minWorkgroups, 784, 49152)).toEqual({ WX: 16, WY: 16, TM: 8, TN: 4, BK: 16 });
    // 64 blocks of 128×256 are half a wave; 128 of 128×128 one.
    expect(gemmTiles(2048, 1024, 1, PROFILES.gpu.minWorkgroups, 1024, 49152)).toEqual({ WX: 16, WY: 16, TM: 8, TN: 4, BK: 16 });
  });

  it('128×256 blocks from whole waves of them (1, 2 or 3: 2048³, 4096×2048, 3072×4096) or from four, never with a last wave part-empty (3072³ has 2¼)', () => {
    for (const [M, N] of [[2048, 2048], [4096, 1024], [8192, 512], [4096, 2048], [8192, 1024], [3072, 4096], [4096, 3072], [4096, 4096], [8192, 2048]]) {
      expect(gemmTiles(M, N, 1, PROFILES.gpu.minWorkgroups, 1024, 49152), `${M}×${N}`).toEqual(WIDE);
    }
    for (const [M, N] of [[3072, 3072], [6144, 1536], [2560, 4096], [2048, 5120]]) {
      expect(gemmTiles(M, N, 1, PROFILES.gpu.minWorkgroups, 1024, 49152), `${M}×${N}`).toEqual(SQUARE);
    }
  });

  it('128×64 blocks need one wave: 1024³ takes them', () => {
    expect(gemmTiles(1024, 1024, 1, PROFILES.gpu.minWorkgroups, 1024, 49152)).toEqual({ WX: 16, WY: 16, TM: 8, TN: 4, BK: 16 });
  });

  it('every tiling chosen fits the storage it was chosen for', () => {
    for (const storage of [16384, 32768, 49152]) {
      for (const [M, N] of [[4096, 4096], [262144, 32], [512, 64], [16, 16]]) expect(gemmStorage(gemmTiles(M, N, 1, 128, undefined, storage))).toBeLessThanOrEqual(storage);
    }
    expect(Math.min(...GEMM_TILINGS.map(gemmStorage))).toBeLessThanOrEqual(16384);
  });

  it('a CPU adapter keeps WebGPU’s default workgroup memory, so its compiler never meets the largest tiles', () => {
    expect(profileForAdapter({ isFallback: true, workgroupStorage: 32768 }).workgroupStorage).toBeUndefined();
    expect(profileForAdapter({ isFallback: false, workgroupStorage: 32768 }).workgroupStorage).toBe(32768);
  });

  it('a shallow GEMM (one k step) gets 32×32 blocks where they fill the GPU and fit a dispatch: the bench CNN’s conv at batch 256, not at 1 or 4096', () => {
    const SMALL = { WX: 16, WY: 16, TM: 2, TN: 2, BK: 16 };
    const rows = (batch: number) => batch * 26 * 26;
    expect(gemmTiles(rows(256), 32, 1, 128, 9, 49152)).toEqual(SMALL);
    expect(gemmTiles(rows(256), 32, 1, 128, SHALLOW_K + 1, 49152)).not.toEqual(SMALL);
    // 86528 block rows would pass WebGPU's 65535 per dispatch dimension.
    expect(gemmTiles(rows(4096), 32, 1, 128, 9, 49152)).toEqual({ WX: 8, WY: 16, TM: 8, TN: 4, BK: 16 });
    // The conv's template folds row blocks into z, so its 86528 of them are no limit there.
    expect(gemmTiles(rows(4096), 32, 1, 128, 9, 49152, true)).toEqual(SMALL);
    // 22 blocks do not fill the GPU; the arithmetic rule's smallest block does better.
    expect(gemmTiles(rows(1), 32, 1, 128, 9, 49152)).toEqual({ WX: 16, WY: 16, TM: 1, TN: 1, BK: 32 });
    // A CPU adapter (2 workgroups fill it) keeps large blocks.
    expect(gemmTiles(rows(256), 32, 1, PROFILES.cpu.minWorkgroups, 9)).not.toEqual(SMALL);
  });

  it('a shallow conv runs the implicit GEMM on a GPU, not the halo kernel; on a CPU adapter it keeps the halo kernel', () => {
    const geometry = (cin: number) => convGeometry({ op: 'conv2d', attrs: { padding: 'valid' } } as never, [256, 28, 28, cin], [3, 3, cin, 32]);
    expect(haloTile(geometry(1), PROFILES.gpu.minWorkgroups)).toBeUndefined();
    expect(haloTile(geometry(3), PROFILES.gpu.minWorkgroups)).toBeDefined();
    expect(haloTile(geometry(1), PROFILES.cpu.minWorkgroups)).toBeDefined();
  });
});

describe('block edges (whether staged tiles can reach past the operands)', () => {
  const fit = { M: 4096, N: 4096, K: 4096, BM: 128, BN: 256, BK: 16, threads: 256 };
  it('are closed where the blocks divide M, N and K and every invocation stages whole loads', () => {
    expect(blockEdges(fit)).toEqual({ edgeA: false, edgeB: false, wholeA: true, wholeB: true });
    expect(blockEdges(fit, { quadA: true, quadB: true })).toEqual({ edgeA: false, edgeB: false, wholeA: true, wholeB: true });
  });
  it('open A alone at a partial row block, B alone at a partial column block, and both at a partial k step', () => {
    expect(blockEdges({ ...fit, M: 4000 })).toMatchObject({ edgeA: true, edgeB: false });
    expect(blockEdges({ ...fit, N: 4000 })).toMatchObject({ edgeA: false, edgeB: true });
    expect(blockEdges({ ...fit, K: 4004 })).toMatchObject({ edgeA: true, edgeB: true });
  });
  it('open an operand, and mask its loads, where its staging leaves some invocations a load past the tile', () => {
    // 64×16 A elements over 96 invocations: the last of 11 loads each is partly past the tile.
    expect(blockEdges({ ...fit, BM: 64, BN: 96, N: 3840, threads: 96 })).toEqual({ edgeA: true, edgeB: false, wholeA: false, wholeB: true });
    // 128×16 A quads are 512, over 256 invocations whole; 16×8 B quads are 32, fewer than the invocations.
    expect(blockEdges({ ...fit, BN: 8, N: 4096 }, { quadA: true, quadB: true })).toEqual({ edgeA: false, edgeB: true, wholeA: true, wholeB: false });
  });
});
