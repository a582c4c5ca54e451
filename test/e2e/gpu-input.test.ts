/**
 * predict takes a GPUBuffer for an input (copied on the GPU, no host upload): the same outputs as
 * host values; a buffer too small, or without COPY_SRC, is refused naming the input.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/index.js';
import { Net, PredictInputError } from '../../src/runtime/index.js';
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
});
