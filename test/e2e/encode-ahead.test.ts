/**
 * A predict's command buffer is encoded while the previous call ran on the GPU: every call still
 * computes its own inputs, one submit each, whatever kind of call came before.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, interpretModel } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/index.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));
const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('command buffers encoded ahead', () => {
  it('serve calls with new inputs, after partial runs and concurrent predicts, one submit a call', async () => {
    clearSession();
    const x = Input({ shape: [10], name: 'x' });
    const model = new Model({ inputs: x, outputs: layers.Dense(3, { activation: 'softmax', name: 'p' })(layers.Dense(8, { activation: 'relu' })(x)) });
    const net = await Net.create(compileBundle(model, { batch: 4 }).bundle, await testGpu());
    nets.push(net);
    const inputs = [1, 2, 3, 4].map((seed) => randomData(40, seed));
    const want = inputs.map((data) => interpretModel(model, data).outputs.p.data);
    const before = net.submits;
    for (const [k, data] of inputs.entries()) expectClose((await net.predict({ x: data })).p, want[k], TOL, `call ${k}`);
    // A call of another kind (the first step alone) in between: the next predict encodes its own.
    await net.runSteps(0, 1, { x: inputs[0] }, { copies: false, read: true });
    expectClose((await net.predict({ x: inputs[3] })).p, want[3], TOL, 'after a partial run');
    // Calls queued at once each take the command buffer the one before left.
    const all = await Promise.all(inputs.map((data) => net.predict({ x: data })));
    all.forEach((out, k) => expectClose(out.p, want[k], TOL, `concurrent call ${k}`));
    expect(net.submits - before).toBe(inputs.length + 1 + 1 + inputs.length);
  });

  it('serve calls with GPUBuffer inputs: the same buffer again, another one, a host value, and a buffer destroyed', async () => {
    clearSession();
    const x = Input({ shape: [6], name: 'x' });
    const model = new Model({ inputs: x, outputs: layers.Dense(4, { activation: 'tanh', name: 'y' })(x) });
    const net = await Net.create(compileBundle(model, { batch: 3 }).bundle, await testGpu());
    nets.push(net);
    const [a, b] = [randomData(18, 11), randomData(18, 12)];
    const want = [a, b].map((data) => interpretModel(model, data).outputs.y.data);
    const [bufferA, bufferB] = [net.createInputBuffer('x', a), net.createInputBuffer('x', b)];
    for (const [k, input] of [bufferA, bufferA, bufferB, bufferB, bufferA, b, bufferB].entries()) {
      const which = input === bufferA ? 0 : 1;
      expectClose((await net.predict({ x: input })).y, want[which], TOL, `call ${k}`);
    }
    // The command buffer encoded ahead copies from bufferB; destroyed, the call is refused by name.
    bufferB.destroy();
    await expect(net.predict({ x: bufferB })).rejects.toThrow(/GPUBuffer input 'x'/);
    expectClose((await net.predict({ x: bufferA })).y, want[0], TOL, 'after the refused call');
  });
});
