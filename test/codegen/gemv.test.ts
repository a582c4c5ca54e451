/** The few-row matmul's shape: how its workgroups split columns and K (src/codegen/lower/gemv.ts). */
import { describe, expect, it } from 'vitest';
import { gemvShape } from '../../src/codegen/lower/gemv.js';
import { PROFILES } from '../../src/codegen/profile.js';

describe('GEMV shapes', () => {
  it('the bench MLP at batch 1 on a GPU: four columns a lane, two lanes and 128 K-slices a workgroup (64 workgroups)', () => {
    expect(gemvShape(512, 1, PROFILES.gpu.minWorkgroups, true)).toEqual({ CX: 2, S: 128, V: 4, UNROLL: 4 });
  });

  it('wide outputs take more column lanes once the workgroups fill the target', () => {
    expect(gemvShape(8192, 1, PROFILES.gpu.minWorkgroups, true)).toEqual({ CX: 16, S: 16, V: 4, UNROLL: 4 });
    expect(gemvShape(2048, 1, PROFILES.gpu.minWorkgroups, true).CX).toBe(4);
  });

  it('a CPU adapter gets few, wide workgroups', () => {
    expect(gemvShape(512, 1, PROFILES.cpu.minWorkgroups, true)).toEqual({ CX: 16, S: 16, V: 4, UNROLL: 4 });
  });

  it('one column a lane where B is k-contiguous (transposed) or N is not a multiple of 4', () => {
    expect(gemvShape(512, 1, PROFILES.gpu.minWorkgroups, false).V).toBe(1);
    expect(gemvShape(510, 1, PROFILES.gpu.minWorkgroups, true).V).toBe(1);
  });

  it('every shape has 256 invocations, WebGPU’s default limit', () => {
    for (const N of [4, 64, 512, 4096, 30000]) for (const c of [true, false]) {
      const s = gemvShape(N, 3, PROFILES.gpu.minWorkgroups, c);
      expect(s.CX * s.S).toBe(256);
    }
  });
});
