/**
 * samples/attention.ts, the seed's custom attention layer from ops: the same computation in TF.js
 * with the same weights, on the GPU against the interpreter, and the ops it needs (squeeze,
 * expandDims, broadcastTo) with their errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, interpretModel, layers, ops, type SymbolicTensor } from '../../src/index.js';
import { ShapeError } from '../../src/ir/errors.js';
import { direct, model } from '../../samples/attention.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';
import { expectGpuMatchesInterpreter, type GpuRun } from '../support/gpu.js';

const runs: GpuRun[] = [];
afterAll(() => runs.forEach((r) => r.net.destroy()));

describe('samples/attention.ts', () => {
  it('direct: matches the Keras layer computed with TF.js ops (e = tanh(x·W + b), softmax over time, Σ x·a), then Dense softmax', async () => {
    const tf = await tfjs();
    const [W, b, kernel, bias] = direct.getWeights();
    // A non-zero time bias, so b's broadcast over the batch is checked.
    const bValues = randomData(20, 4, -0.5, 0.5);
    direct.setWeights([W, bValues, kernel, bias]);
    const data = randomData(2 * 20 * 64, 9);
    const got = Object.values(interpretModel(direct, { shape: [2, 20, 64], dtype: 'float32', data }, { precision: 'float32' }).outputs)[0];
    const x = tf.tensor(data, [2, 20, 64]);
    const e = tf.tanh(tf.add(tf.matMul(x.reshape([40, 64]), tf.tensor(W, [64, 1])).reshape([2, 20, 1]), tf.tensor(bValues, [20, 1]))).squeeze([2]);
    const a = tf.softmax(e).expandDims(-1);
    const context = tf.sum(tf.mul(x, a), 1);
    const want = tf.softmax(tf.add(tf.matMul(context, tf.tensor(kernel, [64, 10])), tf.tensor(bias)));
    expect(got.shape).toEqual([2, 10]);
    expectClose(got.data, await want.data(), { rtol: 1e-5, atol: 1e-6 }, 'attention sample output');
    direct.setWeights([W, b, kernel, bias]);
  });

  it('model: after TF.js layers.lstm(returnSequences) with the same weights, the same attention in TF.js ops', async () => {
    const tf = await tfjs();
    const [lk, lr, lb, W, b, kernel, bias] = model.getWeights();
    const data = randomData(2 * 20 * 64, 12);
    const got = Object.values(interpretModel(model, { shape: [2, 20, 64], dtype: 'float32', data }, { precision: 'float32' }).outputs)[0];
    const lstm = tf.layers.lstm({ units: 32, returnSequences: true });
    lstm.apply(tf.input({ shape: [20, 64] }));
    lstm.setWeights([tf.tensor(lk, [64, 128]), tf.tensor(lr, [32, 128]), tf.tensor(lb, [128])]);
    const h = lstm.apply(tf.tensor(data, [2, 20, 64])) as import('@tensorflow/tfjs').Tensor;
    const e = tf.tanh(tf.add(tf.matMul(h.reshape([40, 32]), tf.tensor(W, [32, 1])).reshape([2, 20, 1]), tf.tensor(b, [20, 1]))).squeeze([2]);
    const context = tf.sum(tf.mul(h, tf.softmax(e).expandDims(-1)), 1);
    const want = tf.softmax(tf.add(tf.matMul(context, tf.tensor(kernel, [32, 10])), tf.tensor(bias)));
    expectClose(got.data, await want.data(), { rtol: 1e-4, atol: 1e-6 }, 'LSTM + attention sample output');
  });

  it('has the seed layer weights: W [features, 1] and b [time, 1]; the LSTM 32 on 64 inputs has 12,416', () => {
    const layer = model.layers.find((l) => l.name === 'attention')!;
    expect(layer.weights.map((w) => [w.name, w.shape])).toEqual([['attention/attention_weight', [32, 1]], ['attention/attention_bias', [20, 1]]]);
    expect(model.countParams()).toBe(12416 + 32 + 20 + 32 * 10 + 10);
    expect(direct.countParams()).toBe(64 + 20 + 64 * 10 + 10);
  });

  it('both models run on the GPU like the interpreter', async () => {
    runs.push(await expectGpuMatchesInterpreter(direct, { batch: 2, rtol: 1e-4, atol: 1e-5 }));
    runs.push(await expectGpuMatchesInterpreter(model, { batch: 2, rtol: 1e-4, atol: 1e-5 }));
  });
});

describe('ops for custom layers: squeeze, expandDims, broadcastTo', () => {
  it('squeeze and expandDims move size-1 dims, keeping the unknown batch', () => {
    const x = Input({ shape: [5, 1] });
    expect(ops.squeeze(x, -1).shape).toEqual([null, 5]);
    expect(ops.squeeze(x).shape).toEqual([null, 5]);
    expect(ops.expandDims(ops.squeeze(x, 2), 1).shape).toEqual([null, 1, 5]);
    expect(ops.expandDims(x, 0).shape).toEqual([1, null, 5, 1]);
  });
  it('broadcastTo repeats size-1 dims', () => {
    class Tile extends layers.Layer {
      override call(x: SymbolicTensor): SymbolicTensor {
        return ops.broadcastTo(x, [2, 4, 3]);
      }
    }
    const x = Input({ shape: [1, 3], batchSize: 2 });
    const y = new Tile()(x);
    expect(y.shape).toEqual([2, 4, 3]);
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const got = Object.values(interpretModel(new Model({ inputs: x, outputs: y }), { shape: [2, 1, 3], dtype: 'float32', data }).outputs)[0];
    expect(Array.from(got.data)).toEqual([...[1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3], ...[4, 5, 6, 4, 5, 6, 4, 5, 6, 4, 5, 6]]);
  });
  it('reject a squeeze of a dim that is not 1 and an axis out of range', () => {
    const x = Input({ shape: [5, 2] });
    expect(() => ops.squeeze(x, -1)).toThrow(ShapeError);
    expect(() => ops.squeeze(x, -1)).toThrow(/axis 2 of \[null,5,2\]|axis 2 of/);
    expect(() => ops.expandDims(x, 4)).toThrow(/axis 4 is out of range/);
  });
});
