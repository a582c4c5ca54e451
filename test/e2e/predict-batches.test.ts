/**
 * A predict whose host inputs hold a whole number of the compiled batch runs them as batches in one
 * call (as Keras's predict does): every batch's outputs are those of a call of its own, each large
 * input goes through the staging ring while the GPU works on the batch before, and what cannot be
 * split is refused by name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, Sequential, layers, clearSession, type SymbolicTensor } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/compile.js';
import { Net, type TensorMap } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** Two inputs, two outputs: batches must keep each output's rows in order. */
function twoHeads(): Model {
  clearSession();
  const a = Input({ shape: [6], name: 'a' });
  const b = Input({ shape: [3], name: 'b' });
  const h = layers.Dense(8, { activation: 'relu' })(layers.Concatenate()([a, b]) as SymbolicTensor) as SymbolicTensor;
  return new Model({ inputs: [a, b], outputs: [layers.Dense(4, { activation: 'softmax', name: 'p' })(h) as SymbolicTensor, layers.Dense(2, { name: 'q' })(h) as SymbolicTensor] });
}

async function netFor(model: Model, batch: number, mappedUploadFrom?: number): Promise<Net> {
  const net = await Net.create(compileBundle(model, { batch }).bundle, await testGpu(), mappedUploadFrom === undefined ? {} : { mappedUploadFrom });
  nets.push(net);
  return net;
}

/** Each batch run on its own: the outputs of batch i, concatenated. */
async function oneByOne(net: Net, inputs: Record<string, Float32Array>, k: number): Promise<TensorMap> {
  const parts: TensorMap[] = [];
  for (let i = 0; i < k; i++) {
    parts.push(await net.predict(Object.fromEntries(net.inputs.map((s) => {
      const n = s.shape.reduce((x, y) => x * y, 1);
      return [s.name, inputs[s.name].subarray(i * n, (i + 1) * n)];
    }))));
  }
  return Object.fromEntries(net.outputs.map((o) => [o.name, Float32Array.from(parts.flatMap((p) => Array.from(p[o.name] as Float32Array)))]));
}

describe('predict on several batches in one call', () => {
  it('gives every batch the outputs of a call of its own, rows in order, for each output', async () => {
    const net = await netFor(twoHeads(), 3);
    const k = 5;
    const inputs = { a: randomData(k * 3 * 6, 1), b: randomData(k * 3 * 3, 2) };
    const got = await net.predict(inputs);
    const want = await oneByOne(net, inputs, k);
    for (const o of net.outputs) {
      expect(got[o.name].length).toBe(k * 3 * o.shape[1]);
      expect(Array.from(got[o.name])).toEqual(Array.from(want[o.name]));
    }
  });

  it('writes large inputs through the staging ring, more batches than it has buffers, in one call', async () => {
    clearSession();
    const model = new Sequential([layers.Dense(16, { inputShape: [64], activation: 'tanh' }), layers.Dense(5)]);
    // Every input counts as large here: each batch goes through the two-buffer ring.
    const net = await netFor(model, 4, 1);
    const k = 7;
    const x = randomData(k * 4 * 64, 3);
    const before = net.submits;
    const got = await net.predict({ [net.inputs[0].name]: x });
    expect(net.submits - before).toBe(k);
    const want = await oneByOne(net, { [net.inputs[0].name]: x }, k);
    expect(Array.from(got[net.outputs[0].name])).toEqual(Array.from(want[net.outputs[0].name]));
  });

  it('keeps one batch a call where inputs disagree, or are not whole batches, and says which', async () => {
    const net = await netFor(twoHeads(), 2);
    await expect(net.predict({ a: new Float32Array(3 * 2 * 6), b: new Float32Array(2 * 2 * 3) })).rejects.toThrow(/input 'a' expects 12 float32 values .* got 36; that is a batch of 6/);
    await expect(net.predict({ a: new Float32Array(5 * 6), b: new Float32Array(5 * 3) })).rejects.toThrow(/input 'a' expects 12 float32 values .* got 30; that is a batch of 5/);
  });

  it('refuses batches for a model that carries state from call to call', async () => {
    clearSession();
    const x = Input({ batchShape: [2, 3, 4] });
    const model = new Model({ inputs: x, outputs: layers.LSTM({ units: 5, stateful: true })(x) as SymbolicTensor });
    const net = await netFor(model, 2);
    await expect(net.predict({ [net.inputs[0].name]: new Float32Array(3 * 2 * 3 * 4) })).rejects.toThrow(/carries state from call to call, so it runs one batch of 2 a call; got 3 batches/);
  });
});
