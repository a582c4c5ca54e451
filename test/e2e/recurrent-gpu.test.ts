/**
 * Recurrent layers compiled and run on the GPU (lavapipe here) with a NaN-poisoned arena, compared with
 * the float64 interpreter. The whole time loop of each layer is one kernel (plus one GEMM when the
 * inputs are too wide to stage beside the state).
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, Sequential, clearSession, layers, type SymbolicTensor } from '../../src/index.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));
beforeEach(() => clearSession());

/** f32 on the GPU against the float64 reference, through up to 9 steps of saturating gates. */
const TOL = { rtol: 1e-4, atol: 2e-5 };

async function check(model: Model, extra: { batch?: number; intRange?: number } = {}): Promise<GpuRun> {
  const run = await expectGpuMatchesInterpreter(model, { batch: 3, ...TOL, ...extra });
  runs.push(run);
  return run;
}

/** Names of the kernels the bundle runs, in order. */
const kernels = (run: GpuRun) => run.compiled.report.steps.map((s) => s.name);

function seqModel(shape: number[], layer: (x: SymbolicTensor) => SymbolicTensor | SymbolicTensor[]): Model {
  const x = Input({ shape });
  return new Model({ inputs: x, outputs: layer(x) });
}

describe('one kernel runs every time step', () => {
  for (const [name, make] of [
    ['SimpleRNN', (o: object) => layers.SimpleRNN({ units: 5, ...o })],
    ['LSTM', (o: object) => layers.LSTM({ units: 5, ...o })],
    ['GRU', (o: object) => layers.GRU({ units: 5, ...o })],
    ['GRU resetAfter', (o: object) => layers.GRU({ units: 5, resetAfter: true, ...o })],
  ] as const) {
    it(`${name}: last output is one kernel and matches the interpreter`, async () => {
      const run = await check(seqModel([6, 4], (x) => make({})(x) as SymbolicTensor));
      expect(kernels(run)).toHaveLength(1);
    });
    it(`${name}: sequences, final states, goBackwards, sigmoid gates`, () =>
      check(seqModel([7, 3], (x) => make({ returnSequences: true, returnState: true, goBackwards: true, ...(name === 'SimpleRNN' ? {} : { recurrentActivation: 'sigmoid' }) })(x))));
  }
  it('LSTM with initial states and no bias', () => {
    const [x, h, c] = [Input({ shape: [5, 3] }), Input({ shape: [4] }), Input({ shape: [4] })];
    return check(new Model({ inputs: [x, h, c], outputs: layers.LSTM({ units: 4, useBias: false, returnState: true })(x, { initialState: [h, c] }) }));
  });
  it('masked steps from Embedding(maskZero) carry the state forward', () => {
    const x = Input({ shape: [8], dtype: 'int32' });
    const e = layers.Embedding({ inputDim: 4, outputDim: 3, maskZero: true })(x) as SymbolicTensor;
    return check(new Model({ inputs: x, outputs: [layers.GRU({ units: 4, returnSequences: true })(e) as SymbolicTensor, layers.LSTM({ units: 3 })(e) as SymbolicTensor] }), { intRange: 4 });
  });
});

describe('large batches: 2, 4 or 8 rows per workgroup share each weight read, tails included', () => {
  for (const batch of [258, 515, 4099]) {
    it(`LSTM, GRU (both resets) and SimpleRNN at batch ${batch}: sequences, final states, goBackwards`, () =>
      check(seqModel([4, 3], (x) => [
        ...(layers.LSTM({ units: 5, returnSequences: true, returnState: true, goBackwards: true })(x) as unknown as SymbolicTensor[]),
        layers.GRU({ units: 4 })(x) as SymbolicTensor,
        layers.GRU({ units: 3, resetAfter: true, returnSequences: true })(x) as SymbolicTensor,
        layers.SimpleRNN({ units: 6 })(x) as SymbolicTensor,
      ]), { batch }));
  }
  it('masked steps at batch 300 carry the state forward', () => {
    const x = Input({ shape: [6], dtype: 'int32' });
    const e = layers.Embedding({ inputDim: 4, outputDim: 3, maskZero: true })(x) as SymbolicTensor;
    return check(new Model({ inputs: x, outputs: [layers.GRU({ units: 4, returnSequences: true })(e) as SymbolicTensor, layers.LSTM({ units: 3 })(e) as SymbolicTensor] }), { batch: 300, intRange: 4 });
  });
});

describe('wide inputs or many units: the projection for every step is one GEMM, then the loop', () => {
  it('LSTM on 4000 features is two kernels and matches the interpreter', async () => {
    const run = await check(seqModel([4, 4000], (x) => layers.LSTM({ units: 8, returnSequences: true })(x) as SymbolicTensor), { batch: 2 });
    expect(kernels(run)).toHaveLength(2);
  });
  it('LSTM with 300 units (more than lanes) is two kernels and matches the interpreter', async () => {
    const run = await check(seqModel([3, 5], (x) => layers.LSTM({ units: 300 })(x) as SymbolicTensor), { batch: 2 });
    expect(kernels(run)).toHaveLength(2);
  });
  it('LSTM with 512 units fits: gates, h and c in workgroup memory', async () => {
    const run = await check(seqModel([3, 4], (x) => layers.LSTM({ units: 512, returnSequences: true })(x) as SymbolicTensor), { batch: 1 });
    expect(kernels(run)).toHaveLength(2);
  });
  it('GRU with 130 units and dropout (off at inference)', async () => {
    const run = await check(seqModel([3, 5], (x) => layers.GRU({ units: 130, returnSequences: true, dropout: 0.2, recurrentDropout: 0.3 })(x) as SymbolicTensor), { batch: 2 });
    expect(kernels(run)).toHaveLength(2);
    // The folded training flag leaves the masks out of the WGSL.
    expect(run.compiled.report.kernels.some((k) => k.wgsl.includes('k_uniform'))).toBe(false);
  });
});

describe('the bench model', () => {
  it('LSTM 32 over 20×64, last step, Dense 10 softmax: the LSTM is one kernel', async () => {
    const model = new Sequential([layers.LSTM({ units: 32, inputShape: [20, 64], recurrentInitializer: 'glorotUniform' }), layers.Dense({ units: 10, activation: 'softmax' })]);
    const run = await check(model, { batch: 4 });
    expect(kernels(run).filter((n) => n.includes('lstm'))).toHaveLength(1);
  });
  it('Bidirectional LSTM over a masked embedding', () => {
    const x = Input({ shape: [6], dtype: 'int32' });
    const e = layers.Embedding({ inputDim: 5, outputDim: 4, maskZero: true })(x) as SymbolicTensor;
    return check(new Model({ inputs: x, outputs: layers.Bidirectional({ layer: layers.LSTM({ units: 3, returnSequences: true }) })(e) as SymbolicTensor }), { intRange: 5 });
  });
});
