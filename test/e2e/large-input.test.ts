/**
 * Host inputs of MAPPED_UPLOAD_FROM bytes or more go through the Net's own mapped staging buffers,
 * used in turn: calls in a row, and calls queued without waiting, each see their own input.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, layers, clearSession, interpretModel } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/index.js';
import { MAPPED_UPLOAD_FROM, Net } from '../../src/runtime/net.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

describe('large host inputs', () => {
  it('give the interpreter’s outputs call after call, also when several calls are queued at once', async () => {
    clearSession();
    const features = 600;
    const batch = Math.ceil(MAPPED_UPLOAD_FROM / (4 * features)) + 3;
    const x = Input({ shape: [features] });
    const model = new Model({ inputs: x, outputs: layers.Dense(3)(x) });
    const net = await Net.create(compileBundle(model, { batch }).bundle, await testGpu());
    nets.push(net);
    const data = [0, 1, 2].map((k) => randomData(batch * features, 50 + k));
    expect(data[0].byteLength).toBeGreaterThanOrEqual(MAPPED_UPLOAD_FROM);
    const want = data.map((d) => interpretModel(model, d).outputs);
    const name = net.inputs[0].name;
    const out = net.outputs[0].name;
    for (let k = 0; k < 3; k++) expectClose((await net.predict({ [name]: data[k] }))[out], want[k][out].data as ArrayLike<number>, { rtol: 1e-4, atol: 1e-5 }, `call ${k}`);
    // Three calls queued before any resolves: more than the staging ring holds.
    const queued = await Promise.all([2, 0, 1].map((k) => net.predict({ [name]: data[k] })));
    [2, 0, 1].forEach((k, i) => expectClose(queued[i][out], want[k][out].data as ArrayLike<number>, { rtol: 1e-4, atol: 1e-5 }, `queued call ${i}`));
  });

  it('take the mapped path from any size a Net is told (mappedUploadFrom), with the same results', async () => {
    clearSession();
    const x = Input({ shape: [20] });
    const model = new Model({ inputs: x, outputs: layers.Dense(3)(x) });
    const net = await Net.create(compileBundle(model, { batch: 4 }).bundle, await testGpu(), { mappedUploadFrom: 0 });
    nets.push(net);
    const [name, out] = [net.inputs[0].name, net.outputs[0].name];
    for (const seed of [7, 8]) {
      const data = randomData(4 * 20, seed);
      expectClose((await net.predict({ [name]: data }))[out], interpretModel(model, data).outputs[out].data as ArrayLike<number>, { rtol: 1e-4, atol: 1e-5 }, `seed ${seed}`);
    }
  });
});
