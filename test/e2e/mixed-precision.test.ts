/**
 * precision 'mixed': GEMMs take f16 operands and accumulate in f32. On lavapipe (shader-f16, no subgroup
 * matrices) they run in f16 tiles; with operands that f16 represents exactly the result is the float32
 * reference up to summation order, and on any operands it is within an f16 tolerance. The tensor-core
 * kernel is compiled here and run on the GPU machine by test/device (npm run test:device).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Product } from '../support/products.js';
import { Input, Model, Sequential, layers, clearSession } from '../../src/index.js';
import { GEMM_TILINGS } from '../../src/codegen/lower/gemm.js';
import { compileBundle } from '../../src/codegen/compile.js';
import { PROFILES, type TargetProfile } from '../../src/codegen/profile.js';
import { BundleError, Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { expectMixed as expectMixedOn, mixedProfile } from '../support/mixed.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** Checks one model mixed against the interpreter; the Nets it makes are destroyed after the file. */
const expectMixed = (model: Model, batch: number, tolerance: { rtol: number; atol: number }, exact: boolean) => expectMixedOn(model, batch, tolerance, exact, ['shader-f16'], nets);

describe("precision 'mixed' on an adapter with shader-f16 (f16 tiles, f32 accumulation)", () => {
  it('Dense + relu on f16-exact operands gives the float32 result', async () => {
    clearSession();
    const x = Input({ shape: [70] });
    await expectMixed(new Model({ inputs: x, outputs: layers.Dense(45, { activation: 'relu' })(x) }), 67, { rtol: 1e-5, atol: 1e-5 }, true);
  });

  // One test a tiling: on a cold shader cache lavapipe takes about a minute to compile each 128×256 kernel.
  for (const t of GEMM_TILINGS) {
    const tiles = [t.WX, t.WY, t.TM, t.TN, t.BK, ...(t.DB ? ['db'] : [])].join(',');
    it(`Dense with depth and width multiples of 4 stages both operands as vec4 quads in tiling ${tiles}, and gives the float32 result`, async () => {
      process.env.KILN_GEMM_TILES = tiles;
      try {
        clearSession();
        const x = Input({ shape: [36] });
        const net = await expectMixed(new Model({ inputs: x, outputs: layers.Dense(72, { activation: 'relu' })(x) }), 300, { rtol: 1e-5, atol: 1e-5 }, true);
        expect(net.wgsl).toMatch(/loadA4[\s\S]*loadB4/);
      } finally {
        delete process.env.KILN_GEMM_TILES;
      }
    }, 180_000);
  }

  it('batched matmul of two inputs staged as quads gives the float32 result', async () => {
    clearSession();
    const [a, b] = [Input({ shape: [21, 12] }), Input({ shape: [12, 20] })];
    const net = await expectMixed(new Model({ inputs: [a, b], outputs: new Product()([a, b]) }), 3, { rtol: 1e-5, atol: 1e-5 }, true);
    expect(net.wgsl).toMatch(/loadA4[\s\S]*loadB4/);
  });

  it('Conv2D 3×3 same + bias as an f16 implicit GEMM, on f16-exact operands, gives the float32 result', async () => {
    clearSession();
    process.env.KILN_CONV = 'gemm';
    try {
      const x = Input({ shape: [9, 9, 5] });
      await expectMixed(new Model({ inputs: x, outputs: layers.Conv2D(12, 3, { padding: 'same' })(x) }), 3, { rtol: 1e-5, atol: 1e-5 }, true);
    } finally {
      delete process.env.KILN_CONV;
    }
  });

  it('a narrow conv keeps the f32 halo kernel in a mixed bundle (faster than its f16 GEMM), next to an f16 Dense', async () => {
    clearSession();
    const x = Input({ shape: [9, 9, 5] });
    const y = layers.Dense(8)(layers.Flatten()(layers.Conv2D(12, 3, { padding: 'same' })(x)));
    const compiled = compileBundle(new Model({ inputs: x, outputs: y }), { batch: 3, precision: 'mixed', profile: await mixedProfile(), check: true });
    const conv = compiled.report.kernels.find((k) => k.name.includes('conv2d'))!;
    expect(conv.wgsl).toContain('var<workgroup> tileW');
    expect(conv.features ?? []).toEqual([]);
  });

  it('a CNN (72 filters: an f16 implicit GEMM) on any inputs stays within f16 rounding of the float32 reference', async () => {
    clearSession();
    const model = new Sequential([
      layers.Conv2D(72, 3, { activation: 'relu', inputShape: [12, 12, 1] }),
      layers.MaxPooling2D(2),
      layers.Flatten(),
      layers.Dense(10, { activation: 'softmax' }),
    ]);
    await expectMixed(model, 16, { rtol: 1e-2, atol: 2e-3 }, false);
  });
});

describe("precision 'mixed' with subgroup matrices (tensor cores)", () => {
  it('compiles matmul and conv to subgroup-matrix kernels that need the three features, and a device without them refuses the bundle by name', async () => {
    clearSession();
    const x = Input({ shape: [16, 16, 3] });
    // 96 filters: more than the halo kernel takes, so the conv is a tensor-core implicit GEMM.
    const y = layers.Dense(40)(layers.Conv2D(96, 3, { padding: 'same', activation: 'relu' })(x));
    const model = new Model({ inputs: x, outputs: y });
    const profile: TargetProfile = { ...PROFILES.gpu, features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'] };
    const compiled = compileBundle(model, { batch: 64, precision: 'mixed', profile, check: true });
    expect(compiled.bundle.manifest.features).toEqual(['chromium-experimental-subgroup-matrix', 'shader-f16', 'subgroups']);
    const mma = compiled.report.kernels.filter((k) => k.wgsl.includes('subgroupMatrixMultiplyAccumulate'));
    expect(mma.map((k) => k.name)).toHaveLength(2);
    for (const k of mma) expect(k.workgroupSize[0] % 32).toBe(0);
    const gpu = await testGpu();
    if (!gpu.adapter.features?.includes('chromium-experimental-subgroup-matrix')) {
      await expect(Net.create(compiled.bundle, gpu)).rejects.toThrow(BundleError);
      await expect(Net.create(compiled.bundle, gpu)).rejects.toThrow(/needs WebGPU features this device lacks: chromium-experimental-subgroup-matrix/);
    }
  });

  it('a long-K product (K 24576 over 64 × 10 results, as weight gradients at large batch) splits K in f32 kernels, whose grid fills the GPU', () => {
    clearSession();
    const x = Input({ shape: [24576] });
    const profile: TargetProfile = { ...PROFILES.gpu, features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'] };
    const compiled = compileBundle(new Model({ inputs: x, outputs: layers.Dense(10)(x) }), { batch: 64, precision: 'mixed', profile });
    expect(compiled.report.kernels.some((k) => k.wgsl.includes('subgroupMatrixMultiplyAccumulate'))).toBe(false);
    expect(compiled.report.kernels.length).toBeGreaterThan(1);
  });

  it('a ResNet-style residual conv (32 → 32 channels, 3×3, batch 256) runs the halo-staged tensor-core conv, reading every residual before it writes', () => {
    clearSession();
    const x = Input({ shape: [32, 32, 32] });
    const y = layers.Activation('relu')(layers.Add()([x, layers.Conv2D(32, 3, { padding: 'same' })(x)]));
    const profile: TargetProfile = { ...PROFILES.gpu, features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'], workgroupStorage: 49152 };
    const compiled = compileBundle(new Model({ inputs: x, outputs: y }), { batch: 256, precision: 'mixed', profile, check: true });
    const conv = compiled.report.kernels.find((k) => k.name.includes('conv2d'))!;
    expect(conv.wgsl).toMatch(/subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>\(&tileX/);
    expect(conv.features).toEqual(['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix']);
    expect(conv.workgroupSize[0] % 32).toBe(0);
    const first = conv.wgsl.split('subgroupMatrixStore')[1];
    expect(first.match(/res\[k\] =/g)).toHaveLength(8);
    expect(first.lastIndexOf('res[k] =')).toBeLessThan(first.indexOf('out0('));
  });

  it('a tensor-core conv over an 8×8 map (a tile mostly outside it) keeps the tensor-core implicit GEMM, and an RGB stem the f32 halo kernel', () => {
    clearSession();
    const profile: TargetProfile = { ...PROFILES.gpu, features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'], workgroupStorage: 49152 };
    const kernelOf = (shape: number[], filters: number) => {
      clearSession();
      const x = Input({ shape });
      const compiled = compileBundle(new Model({ inputs: x, outputs: layers.Conv2D(filters, 3, { padding: 'same' })(x) }), { batch: 256, precision: 'mixed', profile, check: true });
      return compiled.report.kernels.find((k) => k.name.includes('conv2d'))!.wgsl;
    };
    const small = kernelOf([8, 8, 64], 128);
    expect(small).toContain('subgroupMatrixMultiplyAccumulate');
    expect(small).not.toContain('&tileX');
    const stem = kernelOf([32, 32, 3], 32);
    expect(stem).not.toContain('subgroupMatrix');
    expect(stem).toContain('var<workgroup> tileW: array<vec4<f32>');
  });

  it('a conv whose tensor-core grid would not fill the GPU (the ResNet’s 32 channels at batch 1) runs the f32 implicit GEMM', () => {
    clearSession();
    const x = Input({ shape: [32, 32, 32] });
    const y = layers.Dense(10)(layers.Flatten()(layers.Conv2D(32, 3, { padding: 'same', useBias: false })(x)));
    const profile: TargetProfile = { ...PROFILES.gpu, features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'] };
    const compiled = compileBundle(new Model({ inputs: x, outputs: y }), { batch: 1, precision: 'mixed', profile, check: true });
    const conv = compiled.report.kernels.find((k) => k.name.includes('conv2d'))!;
    expect(conv.wgsl).not.toContain('subgroupMatrix');
    expect(conv.wgsl).not.toContain('enable f16');
    expect(conv.features ?? []).toEqual([]);
  });

  it('a shallow conv (3×3 over one channel: K = 9, less than one tensor-core step) runs in f32 even where its grid fills the GPU', () => {
    clearSession();
    const x = Input({ shape: [28, 28, 1] });
    const y = layers.Dense(10)(layers.Flatten()(layers.Conv2D(32, 3, { activation: 'relu' })(x)));
    const profile: TargetProfile = { ...PROFILES.gpu, features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'] };
    const compiled = compileBundle(new Model({ inputs: x, outputs: y }), { batch: 256, precision: 'mixed', profile, check: true });
    const conv = compiled.report.kernels.find((k) => k.name.includes('conv2d'))!;
    expect(conv.wgsl).not.toContain('subgroupMatrix');
    expect(conv.wgsl).not.toContain('enable f16');
    expect(conv.features ?? []).toEqual([]);
  });

  it("without shader-f16, 'mixed' falls back to float32 kernels", () => {
    clearSession();
    const x = Input({ shape: [20] });
    const compiled = compileBundle(new Model({ inputs: x, outputs: layers.Dense(8)(x) }), { batch: 32, precision: 'mixed', profile: { ...PROFILES.cpu, features: [] } });
    expect(compiled.bundle.manifest.features).toBeUndefined();
    expect(compiled.report.kernels.every((k) => !k.wgsl.includes('enable f16'))).toBe(true);
  });
});
