/**
 * `model.predict` and `model.evaluate` as Keras runs them: every sample, in batches, the last one
 * partial. A model keeps its compiled inference Nets between calls (a call costs a dispatch, not a
 * compile) until a weight moves, and hands its whole batches to the Net several a call, so their uploads
 * overlap the GPU's work. Values are checked against the dense layers computed on the host.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Sequential, layers, clearSession, useTrainingDevice, type Model } from '../../src/index.js';
import { openDevice } from '../../src/runtime/gpu.js';
import { Net } from '../../src/runtime/net.js';
import { NetCache } from '../../src/training/net-cache.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const [N, BATCH, IN, HIDDEN, OUT] = [10, 4, 3, 5, 2];
const TOL = { rtol: 1e-5, atol: 1e-6 };

function denseModel(): Model {
  clearSession();
  const model = new Sequential([layers.Dense(HIDDEN, { activation: 'relu', inputShape: [IN] }), layers.Dense(OUT)]);
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError', metrics: ['mae'] });
  return model;
}

/** relu(x·W1 + b1)·W2 + b2 on the host, from the model's current weights. */
function hostPredict(model: Model, x: Float32Array): Float32Array {
  const [w1, b1, w2, b2] = model.getWeights();
  const out = new Float32Array((x.length / IN) * OUT);
  for (let n = 0; n < x.length / IN; n++) {
    const h = Array.from({ length: HIDDEN }, (_, j) => Math.max(0, b1[j] + Array.from({ length: IN }, (_, i) => x[n * IN + i] * w1[i * HIDDEN + j]).reduce((a, b) => a + b)));
    for (let k = 0; k < OUT; k++) out[n * OUT + k] = b2[k] + h.reduce((a, v, j) => a + v * w2[j * OUT + k], 0);
  }
  return out;
}

const x = randomData(N * IN, 3);
const y = randomData(N * OUT, 4);

afterEach(() => vi.restoreAllMocks());

describe('model.predict', () => {
  it('covers every sample: two whole batches in one call to the Net, then the partial batch in another', async () => {
    const model = denseModel();
    const calls = vi.spyOn(Net.prototype, 'predict');
    const got = (await model.predict(x, { batchSize: BATCH })) as Float32Array;
    expectClose(got, hostPredict(model, x), TOL, 'predict');
    expect(calls.mock.calls.map(([feeds]) => (Object.values(feeds)[0] as Float32Array).length)).toEqual([2 * BATCH * IN, 2 * IN]);
    model.dispose();
  });

  it('compiles once: a second call reuses the kept Nets', async () => {
    const model = denseModel();
    await model.predict(x, { batchSize: BATCH });
    const creates = vi.spyOn(Net, 'create');
    const again = (await model.predict(x, { batchSize: BATCH })) as Float32Array;
    expect(creates).not.toHaveBeenCalled();
    expectClose(again, hostPredict(model, x), TOL, 'second predict');
    model.dispose();
  });

  it('compiles again once a weight moved: setWeights, then fit', async () => {
    const model = denseModel();
    await model.predict(x, { batchSize: BATCH });
    const creates = vi.spyOn(Net, 'create');
    const first = model.layers[1];
    first.setWeights(first.getWeights().map((w) => w.map((v) => v * 2)));
    expectClose((await model.predict(x, { batchSize: BATCH })) as Float32Array, hostPredict(model, x), TOL, 'after setWeights');
    expect(creates).toHaveBeenCalledTimes(2); // the whole batches' Net and the partial batch's
    await model.fit(x, y, { batchSize: BATCH, epochs: 2, verbose: 0 });
    expectClose((await model.predict(x, { batchSize: BATCH })) as Float32Array, hostPredict(model, x), TOL, 'after fit');
    model.dispose();
  });

  it('dispose frees the kept Nets; the next call compiles again and still answers', async () => {
    const model = denseModel();
    await model.predict(x, { batchSize: BATCH });
    const destroys = vi.spyOn(Net.prototype, 'destroy');
    model.dispose();
    await vi.waitFor(() => expect(destroys).toHaveBeenCalledTimes(2));
    const creates = vi.spyOn(Net, 'create');
    expectClose((await model.predict(x, { batchSize: BATCH })) as Float32Array, hostPredict(model, x), TOL, 'after dispose');
    expect(creates).toHaveBeenCalledTimes(2);
    model.dispose();
  });
});

describe('kept Nets and devices', () => {
  it('a Net kept on one device is not used once useTrainingDevice picks another', async () => {
    const model = denseModel();
    await model.predict(x, { batchSize: BATCH });
    const other = await openDevice();
    useTrainingDevice(other);
    const creates = vi.spyOn(Net, 'create');
    expectClose((await model.predict(x, { batchSize: BATCH })) as Float32Array, hostPredict(model, x), TOL, 'on the other device');
    expect(creates.mock.calls.map(([, gpu]) => gpu)).toEqual([other, other]);
    model.dispose();
  });
});

describe('model.evaluate', () => {
  it("weighs each batch's loss and metric by its samples, the partial batch included, and compiles once", async () => {
    const model = denseModel();
    const want = hostPredict(model, x);
    const mse = want.reduce((a, v, i) => a + (v - y[i]) ** 2, 0) / want.length;
    const mae = want.reduce((a, v, i) => a + Math.abs(v - y[i]), 0) / want.length;
    const [loss, meanAbs] = await model.evaluate(x, y, { batchSize: BATCH });
    expect(loss).toBeCloseTo(mse, 5);
    expect(meanAbs).toBeCloseTo(mae, 5);
    const creates = vi.spyOn(Net, 'create');
    expect(await model.evaluate(x, y, { batchSize: BATCH })).toEqual([loss, meanAbs]);
    expect(creates).not.toHaveBeenCalled();
    model.dispose();
  });
});

describe('NetCache', () => {
  const fakeNet = () => ({ flush: vi.fn(async () => undefined), destroy: vi.fn() }) as unknown as Net;

  it('keeps at most its limit of Nets, the least recently used going first', async () => {
    const cache = new NetCache(2);
    const nets = [fakeNet(), fakeNet(), fakeNet()];
    await cache.get('a', [], async () => nets[0]);
    await cache.get('b', [], async () => nets[1]);
    await cache.get('a', [], async () => fakeNet()); // a used again: b is now the oldest
    await cache.get('c', [], async () => nets[2]);
    await vi.waitFor(() => expect(nets[1].destroy).toHaveBeenCalled());
    expect(nets[0].destroy).not.toHaveBeenCalled();
    expect(await cache.get('a', [], async () => fakeNet())).toBe(nets[0]);
  });

  it('builds again when a version moved, and forgets a Net that failed to build', async () => {
    const cache = new NetCache();
    const weight = { version: 0 };
    const first = fakeNet();
    await cache.get('k', [weight], async () => first);
    weight.version = 1;
    const second = fakeNet();
    expect(await cache.get('k', [weight], async () => second)).toBe(second);
    await vi.waitFor(() => expect(first.destroy).toHaveBeenCalled());
    await expect(cache.get('bad', [], async () => Promise.reject(new Error('no device')))).rejects.toThrow('no device');
    const retried = fakeNet();
    expect(await cache.get('bad', [], async () => retried)).toBe(retried);
  });
});
