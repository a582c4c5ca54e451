/**
 * predict takes a GPUBuffer for an input (copied on the GPU, no host upload): the same outputs as
 * host values, for predict and for a training step; a buffer too small, or without COPY_SRC, is
 * refused naming the input.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, Sequential, layers, optimizers, clearSession } from '../../src/index.js';
import { TrainingSession } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { compileBundle } from '../../src/codegen/index.js';
import { Net, PredictInputError, RunError } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

async function denseNet(): Promise<Net> {
  clearSession();
  const x = Input({ shape: [12], name: 'x' });
  const model = new Model({ inputs: x, outputs: layers.Dense(5, { activation: 'tanh' })(x) });
  const net = await Net.create(compileBundle(model, { batch: 6 }).bundle, await testGpu());
  nets.push(net);
  return net;
}

describe('GPUBuffer inputs', () => {
  it('give the outputs of the same values passed from the host, call after call', async () => {
    const net = await denseNet();
    const [a, b] = [randomData(72, 1), randomData(72, 2)];
    const want = [await net.predict({ x: a }), await net.predict({ x: b })];
    const buffer = net.createInputBuffer('x', a);
    const other = net.createInputBuffer('x');
    net.device.queue.writeBuffer(other, 0, b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);
    // Alternating between buffers and host values: each call copies its own input in.
    for (let k = 0; k < 2; k++) {
      expect(Array.from(Object.values(await net.predict({ x: buffer }))[0])).toEqual(Array.from(Object.values(want[0])[0]));
      expect(Array.from(Object.values(await net.predict({ x: b }))[0])).toEqual(Array.from(Object.values(want[1])[0]));
      expect(Array.from(Object.values(await net.predict({ x: other }))[0])).toEqual(Array.from(Object.values(want[1])[0]));
    }
    buffer.destroy();
    other.destroy();
  });

  it('refuse a buffer that is too small or cannot be copied from, naming the input', async () => {
    const net = await denseNet();
    const small = net.device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    await expect(net.predict({ x: small })).rejects.toThrow(PredictInputError);
    await expect(net.predict({ x: small })).rejects.toThrow(/input 'x' expects 72 float32 values .* got a GPUBuffer of 64 bytes/);
    const noCopy = net.device.createBuffer({ size: 288, usage: GPUBufferUsage.STORAGE });
    await expect(net.predict({ x: noCopy })).rejects.toThrow(/input 'x': a GPUBuffer input needs COPY_SRC usage/);
    expect(() => net.createInputBuffer('y')).toThrow(/unknown input 'y'; model .* takes 'x'/);
    expect(() => net.createInputBuffer('x', new Float32Array(5))).toThrow(/input 'x' expects 72 values/);
    small.destroy();
    noCopy.destroy();
  });

  it('a destroyed buffer rejects the call with a RunError naming the input, not the last call’s outputs; the next call runs', async () => {
    const net = await denseNet();
    const [a, b] = [randomData(72, 3), randomData(72, 4)];
    const want = await net.predict({ x: b });
    await net.predict({ x: a });
    const gone = net.createInputBuffer('x', b);
    gone.destroy();
    await expect(net.predict({ x: gone })).rejects.toThrow(RunError);
    await expect(net.predict({ x: gone })).rejects.toThrow(/model '.*': the GPU refused a call \(GPUBuffer input 'x': destroyed, or made on another device\?\): .*destroyed/s);
    expect(Array.from(Object.values(await net.predict({ x: b }))[0])).toEqual(Array.from(Object.values(want)[0]));
  });

  it('a refused training step, which reads nothing back, rejects flush (once) and the session trains on', async () => {
    clearSession();
    const model = new Sequential({ layers: [layers.Dense(3, { activation: 'softmax', inputShape: [5] })] });
    const session = await TrainingSession.create(model, resolveCompileArgs(model, { optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' }), 4, await testGpu());
    const [xName, yName] = session.inputNames;
    const y = session.net.createInputBuffer(yName, new Float32Array(12).fill(1 / 3));
    const gone = session.net.createInputBuffer(xName, randomData(20, 6));
    gone.destroy();
    await expect(session.step({ [xName]: gone, [yName]: y })).resolves.toEqual({});
    await expect(session.net.flush()).rejects.toThrow(RunError);
    await expect(session.net.flush()).resolves.toBeUndefined();
    await session.step({ [xName]: randomData(20, 7), [yName]: new Float32Array(12).fill(1 / 3) });
    await expect(session.net.flush()).resolves.toBeUndefined();
    y.destroy();
    session.destroy();
  });

  it('train a step like host values do: the same weights after two steps', async () => {
    clearSession();
    const make = () => new Sequential({ layers: [layers.Dense(7, { activation: 'relu', inputShape: [5] }), layers.Dense(3, { activation: 'softmax' })] });
    const [host, device] = [make(), make()];
    device.setWeights(host.getWeights());
    const config = (m: Sequential) => resolveCompileArgs(m, { optimizer: optimizers.Adam({ learningRate: 0.05 }), loss: 'categoricalCrossentropy' });
    const gpu = await testGpu();
    const [a, b] = await Promise.all([TrainingSession.create(host, config(host), 4, gpu), TrainingSession.create(device, config(device), 4, gpu)]);
    const y = Float32Array.from({ length: 12 }, (_, i) => Number(i % 3 === Math.floor(i / 3) % 3));
    for (let k = 0; k < 2; k++) {
      const x = randomData(20, 9 + k);
      const feeds = Object.fromEntries(a.inputNames.map((n, j) => [n, j === 0 ? x : y]));
      await a.step(feeds);
      const buffers = Object.fromEntries(b.inputNames.map((n, j) => [n, b.net.createInputBuffer(n, j === 0 ? x : y)]));
      await b.step(buffers);
      Object.values(buffers).forEach((buf) => buf.destroy());
    }
    await a.pullWeights();
    await b.pullWeights();
    host.weights.forEach((w, i) => expect(Array.from(device.weights[i].read()), w.name).toEqual(Array.from(w.read())));
    a.destroy();
    b.destroy();
  });
});
