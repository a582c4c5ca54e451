/** Every register-blocked GEMM tiling, forced in turn, gives the interpreter's result for a matmul and a conv. */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, type Layer, type SymbolicTensor } from '../../src/index.js';
import { GEMM_TILINGS, gemmTiles, isQuad } from '../../src/codegen/lower/gemm.js';
import { TransposedProducts } from '../support/products.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
afterEach(() => {
  delete process.env.KILN_GEMM_TILES;
  delete process.env.KILN_CONV;
});

const TOL = { rtol: 1e-4, atol: 1e-5 };

/** `layer` on an input of `shape`, its weights seeded random values. */
function single(layer: Layer, shape: number[]): Model {
  clearSession();
  const x = Input({ shape });
  const model = new Model({ inputs: x, outputs: layer.apply(x) as SymbolicTensor });
  layer.setWeights(layer.weights.map((w, k) => randomData(w.size, 31 + k, -0.8, 0.8)));
  return model;
}

describe('GEMM tilings, each forced', () => {
  it('include quad tilings (vec4 workgroup reads) and scalar ones', () => {
    expect(GEMM_TILINGS.filter(isQuad).length).toBeGreaterThan(2);
    expect(GEMM_TILINGS.some((t) => !isQuad(t))).toBe(true);
  });
  for (const t of GEMM_TILINGS) {
    const name = `${t.WY * t.TM}×${t.WX * t.TN} (${t.WX}×${t.WY} invocations of ${t.TM}×${t.TN}, BK ${t.BK}${isQuad(t) ? ', quad' : ''}${t.DB ? ', double-buffered' : ''})`;
    it(`${name}: a Dense whose sizes are not multiples of the block, one whose are, transposed operands, and a 3×3 conv`, async () => {
      process.env.KILN_GEMM_TILES = [t.WX, t.WY, t.TM, t.TN, t.BK, ...(t.DB ? ['db'] : [])].join(',');
      expect(gemmTiles(300, 70)).toEqual(t);
      // 300 rows × 37 deep × 70 wide: partial blocks in every direction.
      runs.push(await expectGpuMatchesInterpreter(single(layers.Dense(70, { activation: 'relu' }), [37]), { batch: 300, ...TOL }));
      // Exactly 2×1 blocks, 2 k steps deep: the staged tiles cannot reach past the operands, so loads skip their bounds checks.
      const aligned = await expectGpuMatchesInterpreter(single(layers.Dense(t.WX * t.TN, { activation: 'relu' }), [2 * t.BK]), { batch: 2 * t.WY * t.TM, ...TOL });
      runs.push(aligned);
      expect(aligned.compiled.report.kernels.map((k) => k.wgsl).join('\n')).toContain('const EDGE_A = false; const EDGE_B = false;');
      // Per batch entry: (37×70)ᵀ·(37×21) is 70×21, times (37×21)ᵀ gives 70×37.
      clearSession();
      const [a, b] = [Input({ shape: [37, 70] }), Input({ shape: [37, 21] })];
      runs.push(await expectGpuMatchesInterpreter(new Model({ inputs: [a, b], outputs: new TransposedProducts()([a, b]) }), { batch: 2, ...TOL }));
      // 2 images of 9×9×5 → 162 pixels × 45 taps × 12 filters, as an implicit GEMM (not the halo kernel).
      process.env.KILN_CONV = 'gemm';
      runs.push(await expectGpuMatchesInterpreter(single(layers.Conv2D({ filters: 12, kernelSize: 3, padding: 'same', activation: 'relu' }), [9, 9, 5]), { batch: 2, ...TOL }));
    }, 180_000);
  }
});

describe('a conv whose row blocks pass WebGPU’s 65535 a dimension', () => {
  it('folds them into z: 4 images of 520×520 on 16-row blocks are 67600 row blocks, and the result is the interpreter’s', async () => {
    process.env.KILN_GEMM_TILES = '16,16,1,1,16';
    process.env.KILN_CONV = 'gemm';
    const run = await expectGpuMatchesInterpreter(single(layers.Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), [520, 520, 1]), { batch: 4, ...TOL });
    runs.push(run);
    expect(run.compiled.bundle.manifest.steps[0].dispatch).toEqual([1, 65535, 2]);
  }, 180_000);
});
