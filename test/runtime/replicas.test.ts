/**
 * Inference replicas: two replicas (two GPUDevices; on lavapipe both on the one adapter, the
 * stand-in for two GPUs: same code path, separate memory) give the predictions of one replica and of
 * the float64 interpreter, with outputs in sample order; one replica is the ordinary Net.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, clearSession, compile, interpretModel } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/index.js';
import { Net, ReplicatedNet, loadBundle, openAdapters, PredictInputError, type OpenAdapter } from '../../src/runtime/index.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const TOL = { rtol: 1e-5, atol: 1e-6 };

function mlp() {
  clearSession();
  return new Sequential({ name: 'replica_mlp', layers: [layers.Dense(8, { activation: 'relu', inputShape: [5] }), layers.Dense(3, { activation: 'softmax' })] });
}

let opened: Promise<OpenAdapter[]> | undefined;
const warnings: string[] = [];
/** Two devices; on a one-adapter machine both on it (with a warning saying so). */
const twoDevices = () => (opened ??= openAdapters(2, { warn: (m) => warnings.push(m) }));

describe('replicas for inference', () => {
  it('two replicas give the predictions of one, in sample order, and of the float64 interpreter', async () => {
    const model = mlp();
    const devices = await twoDevices();
    const one = await compile(model, { batch: 6, replicas: 1, devices: [devices[0]] });
    const two = await compile(model, { batch: 6, replicas: 2, devices });
    expect(one).toBeInstanceOf(Net);
    expect(two).toBeInstanceOf(ReplicatedNet);
    const replicated = two as ReplicatedNet;
    expect(replicated.replicas).toHaveLength(2);
    expect(replicated.manifest.model.batch).toBe(3);
    expect(replicated.inputs[0].shape).toEqual([6, 5]);
    for (const r of replicated.replicas) await r.fill(NaN);
    await (one as Net).fill(NaN);
    const x = randomData(6 * 5, 3);
    const [got, want] = await Promise.all([two.predict({ [two.inputs[0].name]: x }), one.predict({ [one.inputs[0].name]: x })]);
    const name = two.outputs[0].name;
    expect(got[name]).toHaveLength(6 * 3);
    expectClose(got[name], want[name], TOL, 'two replicas vs one');
    const ref = interpretModel(model, [{ shape: [6, 5], dtype: 'float32', data: x }]);
    expectClose(got[name], Object.values(ref.outputs)[0].data, { rtol: 1e-4, atol: 1e-5 }, 'two replicas vs interpreter');
    await expect(two.predict({ [two.inputs[0].name]: randomData(3 * 5, 4) })).rejects.toThrow(/expects 30 values.*2 replicas × batch 3.*got 15/);
    await expect(two.predict({ [two.inputs[0].name]: randomData(3 * 5, 4) })).rejects.toBeInstanceOf(PredictInputError);
    one.destroy();
    two.destroy();
  });

  it('each replica may run its share in micro-batches: the whole batch in, the whole batch out', async () => {
    const model = mlp();
    const two = (await compile(model, { batch: 8, replicas: 2, devices: await twoDevices(), microBatch: 2 })) as ReplicatedNet;
    expect(two.manifest.model.microBatches).toBe(2);
    expect(two.batch).toBe(8);
    expect(two.inputs[0].shape).toEqual([8, 5]);
    const x = randomData(8 * 5, 5);
    const got = await two.predict({ [two.inputs[0].name]: x });
    const ref = interpretModel(model, [{ shape: [8, 5], dtype: 'float32', data: x }]);
    expectClose(got[two.outputs[0].name], Object.values(ref.outputs)[0].data, { rtol: 1e-4, atol: 1e-5 }, 'micro-batched replicas vs interpreter');
    await expect(two.predict({ [two.inputs[0].name]: randomData(4 * 5, 6) })).rejects.toThrow(/expects 40 values.*2 replicas × batch 4.*got 20/);
    two.destroy();
  });

  it('a convolutional model split over two replicas matches the float64 interpreter', async () => {
    clearSession();
    const model = new Sequential({ name: 'replica_cnn', layers: [layers.Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 2] }), layers.MaxPooling2D({ poolSize: 2 }), layers.Flatten(), layers.Dense(3)] });
    const net = (await compile(model, { batch: 4, replicas: 2, devices: await twoDevices() })) as ReplicatedNet;
    for (const r of net.replicas) await r.fill(NaN);
    const x = randomData(4 * 6 * 6 * 2, 12);
    const got = await net.predict({ [net.inputs[0].name]: x });
    const ref = interpretModel(model, [{ shape: [4, 6, 6, 2], dtype: 'float32', data: x }]);
    expectClose(got[net.outputs[0].name], Object.values(ref.outputs)[0].data, { rtol: 1e-4, atol: 1e-5 }, 'conv replicas vs interpreter');
    net.destroy();
  });

  it('loadBundle with replicas runs the bundle as it is on each device: a call takes replicas × its batch', async () => {
    const model = mlp();
    const { bundle } = compileBundle(model, { batch: 2 });
    const devices = await twoDevices();
    const net = await loadBundle(bundle, { devices });
    expect(net).toBeInstanceOf(ReplicatedNet);
    const x = randomData(4 * 5, 9);
    const got = await net.predict({ [net.inputs[0].name]: x });
    const ref = interpretModel(model, [{ shape: [4, 5], dtype: 'float32', data: x }]);
    expectClose(got[net.outputs[0].name], Object.values(ref.outputs)[0].data, { rtol: 1e-4, atol: 1e-5 }, 'loaded replicas vs interpreter');
    net.destroy();
    const single = await loadBundle(bundle, { replicas: 1 });
    expect(single).toBeInstanceOf(Net);
    single.destroy();
  });

  it("replicas: 'all' on a one-adapter machine is the ordinary Net; a batch that does not split is an error naming it", async () => {
    const model = mlp();
    const all = await compile(model, { batch: 4, replicas: 'all' });
    expect(all).toBeInstanceOf(Net);
    all.destroy();
    await expect(compile(model, { batch: 5, replicas: 2, devices: await twoDevices() })).rejects.toThrow(/batch 5 does not split evenly over 2 replicas/);
  });

  it('asking for more devices than adapters warns that they share one', async () => {
    const devices = await twoDevices();
    expect(devices).toHaveLength(2);
    expect(devices[0].device).not.toBe(devices[1].device);
    if (devices[0].index === devices[1].index) expect(warnings.join('\n')).toMatch(/2 devices asked for, 1 adapter found: devices share adapters/);
  });
});
