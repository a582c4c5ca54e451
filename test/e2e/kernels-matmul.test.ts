import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, layers, ops, clearSession, type SymbolicTensor } from '../../src/index.js';
import { GradientProduct, Product, TransposedProducts } from '../support/products.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';
import { gemmTiles } from '../../src/codegen/lower/gemm.js';
import { longKChunks, splitKChunks } from '../../src/codegen/lower/split-k.js';
import { rowTeams } from '../../src/codegen/lower/matmul.js';
import { PROFILES } from '../../src/codegen/profile.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));

/** y = x·W (+ epilogue) for a given batch: covers the GEMV path (≤ 8 rows) and the blocked path, edges included. */
const cases: [string, number, number, number][] = [
  ['one row (GEMV)', 1, 37, 19],
  ['eight rows (GEMV)', 8, 16, 70],
  ['one row, four columns a lane (GEMV, vec4 loads of W)', 1, 300, 64],
  ['three rows, four columns a lane, K past one unrolled pass (GEMV)', 3, 1100, 36],
  ['blocked, sizes not multiples of the tile', 67, 45, 81],
  ['blocked, several tiles each way', 130, 33, 129],
];

describe('matmul kernels match the interpreter', () => {
  for (const [what, batch, k, n] of cases) {
    it(`${what}: ${batch}×${k} · ${k}×${n} with bias and relu`, async () => {
      clearSession();
      const x = Input({ shape: [k] });
      runs.push(await expectGpuMatchesInterpreter(new Model({ inputs: x, outputs: layers.Dense(n, { activation: 'relu' })(x) }), { batch, rtol: 1e-4, atol: 1e-5 }));
    });
  }

  it('batched, with transposeA and transposeB', async () => {
    clearSession();
    const a = Input({ shape: [9, 70] });
    const b = Input({ shape: [9, 20] });
    // aᵀ·b is 70×20; times bᵀ (20×9) gives 70×9.
    runs.push(await expectGpuMatchesInterpreter(new Model({ inputs: [a, b], outputs: new TransposedProducts()([a, b]) }), { batch: 3 }));
  });

  it('batched few-row matmul of two inputs (GEMV, vec4 loads at each batch entry)', async () => {
    clearSession();
    const a = Input({ shape: [3, 40] });
    const b = Input({ shape: [40, 12] });
    const run = await expectGpuMatchesInterpreter(new Model({ inputs: [a, b], outputs: new Product()([a, b]) }), { batch: 2, rtol: 1e-4, atol: 1e-5 });
    runs.push(run);
    const wgsl = [...run.compiled.bundle.files].filter(([f]) => f.endsWith('.wgsl')).map(([, bytes]) => new TextDecoder().decode(bytes));
    expect(wgsl.some((w) => w.includes('const V = 4u;'))).toBe(true);
  });

  it('Dense on sequences (rank-3 input, rank-2 kernel)', async () => {
    clearSession();
    const x = Input({ shape: [5, 12] });
    runs.push(await expectGpuMatchesInterpreter(new Model({ inputs: x, outputs: layers.Dense(7, { activation: 'tanh' })(x) }), { batch: 2 }));
  });
});

describe('a matmul epilogue ending in a row softmax matches the interpreter', () => {
  const heads = [
    ['few columns (split K)', 300, 10],
    ['few columns, K past one unrolled pass of 256 lanes (split K)', 2000, 10],
    ['20 columns: 128 lanes share each row (split K)', 700, 20],
    ['many columns (a lane per column)', 300, 70],
  ] as const;
  for (const [what, k, n] of heads) {
    it(`${what}: ${k} inputs, Dense(${n}, softmax) is one kernel`, async () => {
      clearSession();
      const x = Input({ shape: [k] });
      const run = await expectGpuMatchesInterpreter(new Model({ inputs: x, outputs: layers.Dense(n, { activation: 'softmax' })(x) }), { batch: 3 });
      runs.push(run);
      expect(run.compiled.report.steps).toHaveLength(1);
    });
  }
  // On lavapipe's profile (2 workgroups fill it) these batches put several rows in each workgroup, the last one partly past the rows.
  const teams = [
    ['70 rows, 8 a workgroup (9 workgroups, the last with 6)', 70, 300, 10, 8],
    ['37 rows of 20 columns, 4 a workgroup', 37, 700, 20, 4],
    ['40 rows of 31 columns, 2 a workgroup', 40, 90, 31, 2],
  ] as const;
  for (const [what, batch, k, n, perGroup] of teams) {
    it(`split K with several rows a workgroup, ${what}: one kernel`, async () => {
      expect(rowTeams(batch, n, PROFILES.cpu.minWorkgroups)).toBe(perGroup);
      clearSession();
      const x = Input({ shape: [k] });
      const run = await expectGpuMatchesInterpreter(new Model({ inputs: x, outputs: layers.Dense(n, { activation: 'softmax' })(x) }), { batch });
      runs.push(run);
      expect(run.compiled.report.steps).toHaveLength(1);
    });
  }
  it.each([
    ['logSoftmax over rows', 2],
    ['logSoftmax over rows, several rows a workgroup', 21],
  ] as const)('%s (batch %i)', async (_, batch) => {
    clearSession();
    class LogSoftmaxHead extends layers.Layer {
      override call(x: SymbolicTensor) {
        return ops.logSoftmax(x);
      }
    }
    const x = Input({ shape: [50] });
    const run = await expectGpuMatchesInterpreter(new Model({ inputs: x, outputs: new LogSoftmaxHead()(layers.Dense(12)(x)) }), { batch });
    runs.push(run);
    expect(run.compiled.report.steps).toHaveLength(1);
  });
});

describe('rows a split-K row-softmax workgroup takes (rowTeams)', () => {
  it('one until the GPU would still get four times the workgroups it needs, then as many as keep that', () => {
    expect(rowTeams(1, 10, PROFILES.gpu.minWorkgroups)).toBe(1);
    expect(rowTeams(256, 10, PROFILES.gpu.minWorkgroups)).toBe(1);
    expect(rowTeams(1023, 10, PROFILES.gpu.minWorkgroups)).toBe(1);
    expect(rowTeams(1024, 10, PROFILES.gpu.minWorkgroups)).toBe(2);
    expect(rowTeams(2048, 10, PROFILES.gpu.minWorkgroups)).toBe(4);
    expect(rowTeams(4096, 10, PROFILES.gpu.minWorkgroups)).toBe(8);
  });
  it('no more than the partial sums of 3072 floats hold (32 lanes a column of each row)', () => {
    expect(rowTeams(4096, 20, PROFILES.gpu.minWorkgroups)).toBe(4);
    expect(rowTeams(4096, 31, PROFILES.gpu.minWorkgroups)).toBe(2);
  });
});

describe('GEMM tilings', () => {
  // Shapes that land on each candidate of src/codegen/lower/gemm.ts (rows, output width, expected block).
  const shapes: [number, number, string][] = [
    [4096, 1024, '128×128'],
    [2048, 1024, '128×64'],
    [32768, 32, '128×32'],
    [8192, 64, '64×64'],
    [16384, 16, '128×16'],
    [4096, 32, '32×32'],
    [9, 20, '16×16'],
  ];
  for (const [rows, n, block] of shapes) {
    it(`${rows}×${n} uses ${block} blocks and gives the interpreter’s result`, async () => {
      const t = gemmTiles(rows, n);
      expect(`${t.WY * t.TM}×${t.WX * t.TN}`).toBe(block);
      clearSession();
      const x = Input({ shape: [7] });
      runs.push(await expectGpuMatchesInterpreter(new Model({ inputs: x, outputs: layers.Dense(n, { activation: 'relu' })(x) }), { batch: rows }));
    });
  }
});

describe('a matmul too small to fill the GPU with 64×64 blocks splits along K (a chunk GEMM, then a sum with the epilogue)', () => {
  it('250×523 · 523×500 with bias and relu: 4 chunks of 131 k-values, 64×64 blocks, two kernels', async () => {
    clearSession();
    expect(splitKChunks(250, 500, 523, PROFILES.gpu.minWorkgroups)).toBe(4);
    const x = Input({ shape: [523] });
    const run = await expectGpuMatchesInterpreter(new Model({ inputs: x, outputs: layers.Dense(500, { activation: 'relu' })(x) }), { batch: 250, rtol: 1e-4, atol: 1e-4 });
    runs.push(run);
    expect(run.compiled.report.steps).toHaveLength(2);
    expect(run.compiled.bundle.manifest.steps[0].dispatch).toEqual([8, 4, 4]);
  });

  it('transposed operands, forced into 3 chunks (KILN_SPLIT_K), match the interpreter', async () => {
    clearSession();
    process.env.KILN_SPLIT_K = '3';
    try {
      const [a, b] = [Input({ shape: [37, 70] }), Input({ shape: [37, 21] })];
      const run = await expectGpuMatchesInterpreter(new Model({ inputs: [a, b], outputs: new TransposedProducts()([a, b]) }), { batch: 1, rtol: 1e-4, atol: 1e-5 });
      runs.push(run);
      expect(run.compiled.report.steps).toHaveLength(4);
    } finally {
      delete process.env.KILN_SPLIT_K;
    }
  });

  it('the bench MLP splits both hidden Denses at batch 256, and none at batch 4096, where blocks already fill the GPU', () => {
    expect(splitKChunks(256, 512, 784, PROFILES.gpu.minWorkgroups)).toBe(4);
    expect(splitKChunks(256, 512, 512, PROFILES.gpu.minWorkgroups)).toBe(4);
    expect(splitKChunks(4096, 512, 784, PROFILES.gpu.minWorkgroups)).toBe(1);
    // K too short for chunks of 128: no split.
    expect(splitKChunks(256, 512, 200, PROFILES.gpu.minWorkgroups)).toBe(1);
    // A CPU adapter wants few large blocks anyway.
    expect(splitKChunks(256, 512, 784, PROFILES.cpu.minWorkgroups)).toBe(1);
  });

  it('a long K takes more chunks while they keep good blocks, until each is at most 512 deep: the MLP\'s weight gradients at batch 4096 take 8', () => {
    expect(splitKChunks(784, 512, 4096, PROFILES.gpu.minWorkgroups)).toBe(8);
    expect(splitKChunks(512, 512, 4096, PROFILES.gpu.minWorkgroups)).toBe(8);
    expect(splitKChunks(784, 512, 256, PROFILES.gpu.minWorkgroups)).toBe(2);
  });
});

describe('a matmul with a small output and a long K splits K into short chunks of the split GEMM (then a sum with the epilogue)', () => {
  it('the bench models\' last Dense gradients at batch 4096 split; at batch 256, and with outputs that fill the GPU, they do not', () => {
    expect(longKChunks(32, 10, 4096, PROFILES.gpu.minWorkgroups)).toBe(32);
    expect(longKChunks(512, 10, 4096, PROFILES.gpu.minWorkgroups)).toBe(32);
    expect(longKChunks(32, 10, 256, PROFILES.gpu.minWorkgroups)).toBe(1);
    // The CNN's Dense gradient (5408×10 from 4096): 338 workgroups, fewer than four waves of 128.
    expect(longKChunks(5408, 10, 4096, PROFILES.gpu.minWorkgroups)).toBe(32);
    expect(longKChunks(4096, 1024, 4096, PROFILES.gpu.minWorkgroups)).toBe(1);
    // At most 64 chunks: the sum adds them one by one.
    expect(longKChunks(32, 10, 81920, PROFILES.gpu.minWorkgroups)).toBe(64);
  });

  it.each([
    ['aᵀ·b (rows of A contiguous), 37×10 from K = 1100', (a: SymbolicTensor, b: SymbolicTensor) => new GradientProduct()([a, b]), [1100, 37], [1100, 10]],
    ['a·b, 37×10 from K = 1100', (a: SymbolicTensor, b: SymbolicTensor) => new Product()([a, b]), [37, 1100], [1100, 10]],
  ] as const)('%s, compiled for a GPU: 9 chunks, then the sum', async (_, product, sa, sb) => {
    clearSession();
    const [a, b] = [Input({ shape: [...sa] }), Input({ shape: [...sb] })];
    const out = layers.Activation('relu')(product(a, b) as SymbolicTensor);
    const run = await expectGpuMatchesInterpreter(new Model({ inputs: [a, b], outputs: out }), { batch: 1, profile: PROFILES.gpu, rtol: 1e-4, atol: 1e-5 });
    runs.push(run);
    expect(run.compiled.report.steps).toHaveLength(2);
    expect(run.compiled.bundle.manifest.steps[0].dispatch[2]).toBe(9);
  });
});
