/** Tensor-core GEMM tilings: which one a problem gets, given the device's workgroup memory. */
import { describe, expect, it } from 'vitest';
import { MMA_TILINGS, mmaStorage, mmaTiles } from '../../src/codegen/lower/gemm-mma.js';
import { profileForAdapter } from '../../src/codegen/profile.js';

describe('tensor-core GEMM tilings', () => {
  it('a large GEMM gets 128×256 blocks where the device has 46.75 KiB of workgroup memory, 128×128 48 deep with 35, 32 deep with the 32 KiB assumed otherwise', () => {
    expect(mmaStorage({ GM: 8, GN: 1, SM: 1, SN: 16, KS: 3 })).toBe(47872);
    expect(mmaTiles(4096, 4096, 1, 128, 49152)).toEqual({ GM: 8, GN: 1, SM: 1, SN: 16, KS: 3 });
    expect(mmaTiles(4096, 4096, 1, 128, 40960)).toEqual({ GM: 4, GN: 2, SM: 2, SN: 4, KS: 3 });
    expect(mmaTiles(4096, 4096, 1, 128)).toEqual({ GM: 4, GN: 2, SM: 2, SN: 4, KS: 2 });
    expect(mmaTiles(4096, 4096, 1, 128, 32768)).toEqual({ GM: 4, GN: 2, SM: 2, SN: 4, KS: 2 });
  });

  it('every tiling chosen fits the storage it was chosen for, and the smallest fits WebGPU’s default 16 KiB', () => {
    for (const storage of [16384, 32768, 49152]) {
      for (const [M, N] of [[4096, 4096], [262144, 32], [512, 64], [16, 16]]) expect(mmaStorage(mmaTiles(M, N, 1, 128, storage))).toBeLessThanOrEqual(storage);
    }
    expect(Math.min(...MMA_TILINGS.map(mmaStorage))).toBeLessThanOrEqual(16384);
  });

  it('the profile of an adapter carries its workgroup memory', () => {
    expect(profileForAdapter({ isFallback: false, features: [], workgroupStorage: 49152 }).workgroupStorage).toBe(49152);
    expect(profileForAdapter({ isFallback: false }).workgroupStorage).toBeUndefined();
  });
});
