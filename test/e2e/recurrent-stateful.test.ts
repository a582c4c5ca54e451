/**
 * Stateful RNNs (Keras `stateful=True`): the final state of one call is the initial state of the next,
 * kept on the GPU between predict calls (the bundle carries it in its arena and copies it back at the
 * end of each call) until `resetStates`. Checked against TF.js's stateful LSTM with the same weights.
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, clearSession, layers, compile, type SymbolicTensor } from '../../src/index.js';
import type { LSTM } from '../../src/frontend/layers/recurrent.js';
import { compileBundle } from '../../src/codegen/compile.js';
import { testGpu } from '../support/gpu.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const [BATCH, T, F, U] = [2, 3, 4, 5];
const TOL = { rtol: 1e-4, atol: 2e-5 };

function statefulModel(): { model: Model; lstm: LSTM } {
  clearSession();
  const x = Input({ batchShape: [BATCH, T, F] });
  const lstm = layers.LSTM({ units: U, stateful: true, recurrentActivation: 'sigmoid' }) as unknown as LSTM;
  return { model: new Model({ inputs: x, outputs: (lstm as unknown as (t: SymbolicTensor) => SymbolicTensor)(x) }), lstm };
}

/** TF.js's outputs for consecutive calls of the same stateful LSTM (weights copied from kiln). */
async function tfjsCalls(model: Model, inputs: Float32Array[], resetBefore: number): Promise<Float32Array[]> {
  const tf = await tfjs();
  const x = tf.input({ batchShape: [BATCH, T, F] });
  const tfLstm = tf.layers.lstm({ units: U, stateful: true, recurrentActivation: 'sigmoid' });
  const tfModel = tf.model({ inputs: x, outputs: tfLstm.apply(x) as never });
  tfModel.setWeights(model.getWeights().map((v, i) => tf.tensor(v, model.weights[i].shape as number[])));
  return inputs.map((data, k) => {
    if (k === resetBefore) tfLstm.resetStates();
    return (tfModel.predict(tf.tensor(data, [BATCH, T, F])) as { dataSync(): Float32Array }).dataSync();
  });
}

describe('stateful LSTM', () => {
  it("carries its state between predict calls on the GPU, as TF.js's stateful LSTM does, until resetStates", async () => {
    const { model, lstm } = statefulModel();
    expect(model.countParams()).toBe(4 * U * (F + U + 1)); // the state is not a weight
    const inputs = [0, 1, 2].map((k) => randomData(BATCH * T * F, 20 + k));
    const want = await tfjsCalls(model, inputs, 2);
    const net = await compile(model, { batch: BATCH, gpu: await testGpu() });
    const name = net.outputs[0].name;
    const got: Float32Array[] = [];
    for (const [k, data] of inputs.entries()) {
      if (k === 2) for (const v of lstm.stateVariables) net.writeState(v.name, new Float32Array(v.size));
      got.push((await net.predict({ [net.inputs[0].name]: data }))[name] as Float32Array);
    }
    got.forEach((g, k) => expectClose(g, want[k], TOL, `call ${k + 1}`));
    // The second call started from the first call's state: it differs from a fresh start on the same input.
    const fresh = (await tfjsCalls(model, [inputs[1]], 0))[0];
    expect(Array.from(got[1])).not.toEqual(Array.from(fresh));
    net.destroy();
  });

  it('model.predict keeps the state across calls and resetStates() clears it', async () => {
    const { model, lstm } = statefulModel();
    const inputs = [0, 1, 2].map((k) => randomData(BATCH * T * F, 40 + k));
    const want = await tfjsCalls(model, inputs, 2);
    const got: Float32Array[] = [];
    for (const [k, data] of inputs.entries()) {
      if (k === 2) lstm.resetStates();
      got.push((await model.predict(data, { batchSize: BATCH })) as Float32Array);
    }
    got.forEach((g, k) => expectClose(g, want[k], TOL, `call ${k + 1}`));
  });

  it('the bundle carries the state in its arena, with copies at the end of each call', () => {
    const { model } = statefulModel();
    const { bundle } = compileBundle(model, { batch: BATCH });
    expect(bundle.manifest.state?.map((s) => s.name)).toEqual(['lstm/states_0', 'lstm/states_1']);
    expect(bundle.manifest.copies).toHaveLength(2);
  });

  it('needs a fixed batch size', () => {
    clearSession();
    const x = Input({ shape: [T, F] });
    expect(() => layers.LSTM({ units: U, stateful: true })(x)).toThrow(/stateful RNN needs a fixed batch size/);
  });
});
