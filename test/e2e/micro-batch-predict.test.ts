/**
 * A predict bundle may run its batch in micro-batches: the kernels are compiled for the micro-batch, and
 * a call of the whole batch runs them once per micro-batch, each one's host upload written while the GPU
 * computes the one before. The Net still takes and returns the whole batch, from host values or a
 * GPUBuffer, and its results are the model's. `compile` cuts a batch on its own only where the upload is
 * large and the kernels heavy enough to hide it (MICRO_BATCH_RULE), as the bench ResNet at 4096.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Input, Model, clearSession, layers, type SymbolicTensor } from '../../src/index.js';
import { compileBundle } from '../../src/codegen/compile.js';
import { chooseMicroBatch, perSampleCost, MICRO_BATCH_RULE } from '../../src/codegen/micro-batch.js';
import { interpretModel } from '../../src/frontend/run.js';
import { ndarray } from '../../src/ir/ndarray.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const TOL = { rtol: 1e-4, atol: 1e-5 };
const nets: Net[] = [];
afterAll(() => nets.forEach((n) => n.destroy()));

/** Two inputs (an image and a vector), two outputs: micro-batches must keep each output's rows in order. */
function twoHeads(): Model {
  clearSession();
  const img = Input({ shape: [5, 5, 2], name: 'img' });
  const v = Input({ shape: [3], name: 'v' });
  const c = layers.Conv2D(4, 3, { activation: 'relu', name: 'conv' })(img) as SymbolicTensor;
  const h = layers.Concatenate()([layers.Flatten()(c) as SymbolicTensor, v]) as SymbolicTensor;
  return new Model({ inputs: [img, v], outputs: [layers.Dense(4, { activation: 'softmax', name: 'p' })(h) as SymbolicTensor, layers.Dense(2, { name: 'q' })(h) as SymbolicTensor] });
}

const BATCH = 6;
const inputsOf = (calls: number) => ({ img: randomData(calls * BATCH * 50, 1), v: randomData(calls * BATCH * 3, 2) });

/** The model on the reference interpreter, whole batch at once. */
function reference(model: Model, x: { img: Float32Array; v: Float32Array }, batch: number) {
  return interpretModel(model, [ndarray([batch, 5, 5, 2], 'float32', x.img), ndarray([batch, 3], 'float32', x.v)]).outputs;
}

/** The Net's outputs are the model's on the interpreter, for both heads. */
function expectModelOutputs(got: Record<string, ArrayLike<number>>, model: Model, x: { img: Float32Array; v: Float32Array }, batch: number): void {
  const want = reference(model, x, batch);
  expectClose(got.p as Float32Array, want.p.data, TOL, 'p');
  expectClose(got.q as Float32Array, want.q.data, TOL, 'q');
}

async function netFor(model: Model, microBatch: number | 'auto'): Promise<Net> {
  const net = await Net.create(compileBundle(model, { batch: BATCH, microBatch }).bundle, await testGpu());
  nets.push(net);
  return net;
}

describe('a predict bundle in micro-batches', () => {
  it('compiles the kernels for the micro-batch and says how many a call runs', () => {
    const { manifest } = compileBundle(twoHeads(), { batch: BATCH, microBatch: 2 }).bundle;
    expect(manifest.model.batch).toBe(2);
    expect(manifest.model.microBatches).toBe(3);
    expect(manifest.model.inputs.map((s) => s.shape[0])).toEqual([2, 2]);
    expect(compileBundle(twoHeads(), { batch: BATCH, microBatch: BATCH }).bundle.manifest.model.microBatches).toBeUndefined();
  });

  it('takes and returns the whole batch, and gives the model\'s outputs, from host values', async () => {
    const model = twoHeads();
    const net = await netFor(model, 2);
    expect(net.batch).toBe(BATCH);
    expect(net.inputs.map((s) => s.shape)).toEqual([[BATCH, 5, 5, 2], [BATCH, 3]]);
    expect(net.outputs.map((s) => s.shape)).toEqual([[BATCH, 4], [BATCH, 2]]);
    const x = inputsOf(1);
    expectModelOutputs(await net.predict(x), model, x, BATCH);
  });

  it('runs two calls\' worth of host values in one call, rows in order', async () => {
    const model = twoHeads();
    const net = await netFor(model, 3);
    const x = inputsOf(2);
    expectModelOutputs(await net.predict(x), model, x, 2 * BATCH);
  });

  it('reads a GPUBuffer input micro-batch by micro-batch, beside a host input', async () => {
    const model = twoHeads();
    const net = await netFor(model, 2);
    const x = inputsOf(1);
    const img = net.createInputBuffer('img', x.img);
    expect(img.size).toBe(4 * BATCH * 50);
    expectModelOutputs(await net.predict({ img, v: x.v }), model, x, BATCH);
    img.destroy();
  });

  it('refuses a micro-batch\'s worth of values, and a GPUBuffer smaller than the call, naming the whole batch', async () => {
    const net = await netFor(twoHeads(), 2);
    const x = inputsOf(1);
    await expect(net.predict({ img: x.img.subarray(0, 2 * 50), v: x.v.subarray(0, 2 * 3) })).rejects.toThrow(/input 'img' expects 300 float32 values \(shape \[6, 5, 5, 2\]\), got 100; that is a batch of 2, but this bundle was compiled for batch 6/);
    const small = net.device.createBuffer({ size: 4 * 2 * 50, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    await expect(net.predict({ img: small, v: x.v })).rejects.toThrow(/input 'img' expects 300 float32 values .* got a GPUBuffer of 400 bytes/);
    small.destroy();
  });

  it('refuses a microBatch that does not divide the batch, and one for a model that carries state', () => {
    expect(() => compileBundle(twoHeads(), { batch: BATCH, microBatch: 4 })).toThrow(/microBatch must be a whole number of samples that divides the batch 6, got 4/);
    clearSession();
    const x = Input({ batchShape: [4, 3, 2] });
    const stateful = new Model({ inputs: x, outputs: layers.LSTM({ units: 3, stateful: true })(x) as SymbolicTensor });
    expect(() => compileBundle(stateful, { batch: 4, microBatch: 2 })).toThrow(/carries state from call to call .* runs its batch of 4 whole/);
    expect(compileBundle(stateful, { batch: 4 }).bundle.manifest.model.microBatches).toBeUndefined();
  });
});

describe("'auto' (MICRO_BATCH_RULE)", () => {
  const sample = async (name: string) => ((await import(`../../samples/${name}.ts`)) as { model: Model }).model;

  it('counts GEMM FLOPs and input bytes per sample', async () => {
    const mlp = await sample('mlp');
    expect(perSampleCost(mlp.toGraph())).toEqual({ flops: 2 * (784 * 512 + 512 * 512 + 512 * 10), inputBytes: 4 * 784 });
  });

  it('cuts the bench ResNet at batch 4096 into 4 micro-batches of 1024 (8 of 512 with f16 GEMMs), and the light models into 2', async () => {
    const resnet = (await sample('resnet')).toGraph();
    const cost = perSampleCost(resnet);
    expect(cost.flops / cost.inputBytes).toBeGreaterThan(MICRO_BATCH_RULE.heavyFlopsPerInputByte);
    expect(chooseMicroBatch(resnet, 4096)).toBe(1024);
    expect(chooseMicroBatch(resnet, 4096, 'auto', 'mma')).toBe(512);
    for (const name of ['mlp', 'cnn', 'lstm']) {
      const graph = (await sample(name)).toGraph();
      expect(chooseMicroBatch(graph, 4096), name).toBe(2048);
      expect(chooseMicroBatch(graph, 4096, 'auto', 'mma'), `${name}, f16`).toBe(2048);
    }
  });

  it('keeps a call whole below 8 MiB of input, or where a micro-batch would hold all of it', async () => {
    const resnet = (await sample('resnet')).toGraph();
    expect(chooseMicroBatch(resnet, 256)).toBe(256);
    expect(chooseMicroBatch((await sample('mlp')).toGraph(), 2048)).toBe(2048);
    // The LSTM at 2048 holds 10 MiB: more than the minimum, less than one micro-batch's aim.
    expect(chooseMicroBatch((await sample('lstm')).toGraph(), 2048)).toBe(2048);
  });
});
