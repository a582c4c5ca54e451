/**
 * MultiHeadAttention on the GPU against the float64 interpreter, arena poisoned with NaN: the
 * fused attention kernel (online softmax, no score matrix), with causal and explicit masks.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, clearSession, layers, type SymbolicTensor } from '../../src/index.js';
import type { MultiHeadAttentionArgs, MultiHeadAttentionCallArgs } from '../../src/frontend/layers/attention.js';
import { compileBundle } from '../../src/codegen/index.js';
import { PROFILES } from '../../src/codegen/profile.js';
import { Net } from '../../src/runtime/index.js';
import { expectGpuMatchesInterpreter, testGpu, type GpuRun } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { interpretModel } from '../../src/index.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => clearSession());

// Projections (matmuls) plus a float32 online softmax, against float64.
const TOL = { rtol: 1e-4, atol: 2e-5 };

function mhaModel(args: MultiHeadAttentionArgs, shapes: number[][], call: MultiHeadAttentionCallArgs = {}): Model {
  const ins = shapes.map((s) => Input({ shape: s }));
  const out = layers.MultiHeadAttention(args).apply(ins, call) as SymbolicTensor;
  return new Model({ inputs: ins, outputs: out });
}

/** Ops of the compiled graph by name: how many nodes of each. */
const opsOf = (run: GpuRun) => run.compiled.program.graph.nodes.map((n) => n.op);

describe('attention kernel matches the interpreter', () => {
  it('self-attention, 2 heads: the scores, softmax and weighted sum are one kernel', async () => {
    const run = await expectGpuMatchesInterpreter(mhaModel({ numHeads: 2, keyDim: 4 }, [[5, 6], [5, 6]]), { batch: 2, ...TOL });
    runs.push(run);
    expect(opsOf(run).filter((op) => op === 'attention')).toHaveLength(1);
    expect(opsOf(run).filter((op) => op === 'softmax' || op === 'transpose')).toHaveLength(0);
    // Three projections, the attention, the output projection.
    expect(run.compiled.report.steps).toHaveLength(5);
  });
  it('cross-attention with a key, valueDim 3 and outputShape 5', async () => {
    runs.push(await expectGpuMatchesInterpreter(mhaModel({ numHeads: 3, keyDim: 2, valueDim: 3, outputShape: 5 }, [[3, 6], [7, 4], [7, 5]]), { batch: 2, ...TOL }));
  });
  // Lavapipe compiles a kernel with workgroup barriers slowly (tens of seconds on a busy machine), hence the long timeouts.
  it('GPU profile, 70 steps: the tiled kernel, two query blocks of 64, key/value tiles of 64 with a partial last one, plain and causal', async () => {
    for (const call of [{}, { useCausalMask: true }]) {
      const run = await expectGpuMatchesInterpreter(mhaModel({ numHeads: 2, keyDim: 4 }, [[70, 8], [70, 8]], call), { batch: 1, profile: PROFILES.gpu, ...TOL });
      runs.push(run);
      expect(run.compiled.report.kernels.filter((k) => k.wgsl.includes('kTile'))).toHaveLength(1);
    }
  }, 300_000);
  it('GPU profile, 40 keys with an attention mask and the causal mask: the tiled kernel visits every key', async () => {
    const [q, m] = [Input({ shape: [40, 4] }), Input({ shape: [40, 40] })];
    const out = layers.MultiHeadAttention({ numHeads: 1, keyDim: 2 }).apply([q, q], { attentionMask: m, useCausalMask: true }) as SymbolicTensor;
    const run = await expectGpuMatchesInterpreter(new Model({ inputs: [q, m], outputs: out }), { batch: 1, profile: PROFILES.gpu, ...TOL });
    runs.push(run);
    expect(run.compiled.report.kernels.filter((k) => k.wgsl.includes('kTile'))).toHaveLength(1);
  }, 300_000);
  it('CPU profile, 70 steps: one invocation per row (no barriers), plain and causal', async () => {
    for (const call of [{}, { useCausalMask: true }]) {
      const run = await expectGpuMatchesInterpreter(mhaModel({ numHeads: 2, keyDim: 16 }, [[70, 8], [70, 8]], call), { batch: 1, profile: PROFILES.cpu, ...TOL });
      runs.push(run);
      expect(run.compiled.report.kernels.filter((k) => k.wgsl.includes('kTile'))).toHaveLength(0);
    }
  }, 300_000);
  it('causal mask', async () => {
    runs.push(await expectGpuMatchesInterpreter(mhaModel({ numHeads: 2, keyDim: 4 }, [[6, 4], [6, 4]], { useCausalMask: true }), { batch: 2, ...TOL }));
  });
  it('an attention mask fed as a model input, with the causal mask', async () => {
    const [q, v, m] = [Input({ shape: [4, 4] }), Input({ shape: [4, 4] }), Input({ shape: [4, 4] })];
    const out = layers.MultiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([q, v], { attentionMask: m, useCausalMask: true }) as SymbolicTensor;
    const model = new Model({ inputs: [q, v, m], outputs: out });
    const compiled = compileBundle(model, { batch: 2, check: true });
    const net = await Net.create(compiled.bundle, await testGpu());
    const names = compiled.bundle.manifest.model.inputs.map((s) => s.name);
    // 0/1 mask with key 0 always kept (a fully masked row is uniform in Keras, and float32 cannot tell its scores apart).
    const mask = Float32Array.from(randomData(32, 4), (r, n) => (n % 4 === 0 || r > 0 ? 1 : 0));
    const feeds = { [names[0]]: randomData(32, 1), [names[1]]: randomData(32, 2), [names[2]]: mask };
    await net.fill(NaN);
    const got = await net.predict(feeds);
    const want = interpretModel(model, names.map((n) => ({ shape: [2, 4, 4], dtype: 'float32' as const, data: feeds[n] })));
    for (const [name, value] of Object.entries(want.outputs)) expectClose(got[name], value.data, TOL, `output '${name}'`);
    net.destroy();
  });
  it('implicit masks from Embedding(maskZero): masked queries are fully masked rows (a plain average of the values)', async () => {
    const ids = Input({ shape: [6], dtype: 'int32' });
    const e = layers.Embedding(4, 6, { maskZero: true })(ids) as SymbolicTensor;
    const out = layers.MultiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([e, e]) as SymbolicTensor;
    // Ids in [0, 4): about a quarter are 0, masking their query rows and key columns.
    runs.push(await expectGpuMatchesInterpreter(new Model({ inputs: ids, outputs: out }), { batch: 3, intRange: 4, ...TOL }));
  });
  it('an attention mask with the causal mask, rows fully masked included (all keys visited, none skipped)', async () => {
    const [q, m] = [Input({ shape: [4, 4] }), Input({ shape: [4, 4] })];
    const out = layers.MultiHeadAttention({ numHeads: 1, keyDim: 3 }).apply([q, q], { attentionMask: m, useCausalMask: true }) as SymbolicTensor;
    const model = new Model({ inputs: [q, m], outputs: out });
    const compiled = compileBundle(model, { batch: 1, check: true });
    const net = await Net.create(compiled.bundle, await testGpu());
    const names = compiled.bundle.manifest.model.inputs.map((s) => s.name);
    // Row 0 masks key 0, its only causal key: a fully masked row, uniform over all four keys.
    const mask = Float32Array.from([0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1]);
    const feeds = { [names[0]]: randomData(16, 8), [names[1]]: mask };
    await net.fill(NaN);
    const got = await net.predict(feeds);
    const want = interpretModel(model, names.map((n) => ({ shape: [1, 4, 4], dtype: 'float32' as const, data: feeds[n] })));
    for (const [name, value] of Object.entries(want.outputs)) expectClose(got[name], value.data, TOL, `output '${name}'`);
    net.destroy();
  });
});
