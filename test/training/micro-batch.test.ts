/**
 * Micro-batches: a replica whose slice of the batch is larger than one compiled step runs the gradient
 * phase on equal sub-slices and sums their gradients before the mean over replicas, so one optimizer
 * update covers the whole batch. Two replicas of 4 micro-batches each (two GPUDevices on lavapipe's
 * one adapter) end where one device does on the whole batch; the micro-batch is chosen so the arena
 * fits: its arena within the limit asked for, and each value within an arena page the device can bind.
 * A model that fits at no micro-batch is a named error.
 */
import { describe, expect, it, vi } from 'vitest';
import { Sequential, layers, optimizers, clearSession, type Model } from '../../src/index.js';
import { ModelError } from '../../src/ir/errors.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { TrainingSession } from '../../src/training/session.js';
import { DataParallelSession, planDataParallel, trainingSessionFor } from '../../src/training/replicas.js';
import { ArenaTooLargeError, chooseMicroBatch, largestDivisorAtMost } from '../../src/training/micro-batch.js';
import { ValueTooLargeError } from '../../src/codegen/plan.js';
import { Net, OutOfMemoryError } from '../../src/runtime/index.js';
import { batchNormStep, expectFitLikeOneDevice, labelled, twoDevices, twoLayer } from '../support/training.js';
import { expectClose } from '../support/close.js';

/** Float32 sums over 2 samples, float64 sums of 8 micro-batch means, against one float32 sum over 16: a few ulps per step, grown over 3 steps. */
const WEIGHT_TOL = { rtol: 1e-4, atol: 1e-6 };


/** Convolutional, so its arena grows with the batch (a small dense model's is all weights and optimizer state). */
function small(name: string): Model {
  return new Sequential({ name, layers: [layers.Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 2], name: `${name}_c` }), layers.Flatten(), layers.Dense(3, { activation: 'softmax', name: `${name}_o` })] });
}

const images = (count: number, batch: number) => labelled(count, batch, 8 * 8 * 2, 70);
const batches = (count: number, batch: number) => labelled(count, batch, 4, 90);

/** A fresh small model named `name`, the first of the two test devices, and its SGD config. */
async function oneDevice(name: string) {
  clearSession();
  const model = small(name);
  const [device] = await twoDevices();
  return { model, device, config: resolveCompileArgs(model, sgd()) };
}

/** The session runs one step of `batch` images and logs it, then is destroyed. */
async function expectOneStep(session: TrainingSession | DataParallelSession, batch: number): Promise<void> {
  const [b] = images(1, batch);
  session.resetLogs();
  await session.step({ [session.inputNames[0]]: b.x, [session.inputNames[1]]: b.y });
  expect((await session.readLogs()).steps).toBe(1);
  session.destroy();
}

const sgd = () => ({ optimizer: optimizers.SGD({ learningRate: 0.2, momentum: 0.9 }), loss: 'categoricalCrossentropy' as const, metrics: ['accuracy'] });

/** An arena of `fixed` bytes plus `perSample` bytes a sample, as a compile at that micro-batch reports it. */
const linearArena = (fixed: number, perSample: number) => (b: number) => ({ arenaBytes: fixed + perSample * b, at: b });
const target = (limit: number) => ({ model: 'toy', batch: 4096, replicas: 2, limit });

describe('choosing the micro-batch', () => {
  it('keeps the whole slice when its arena fits the limit, compiling once', () => {
    const compiled: number[] = [];
    const choice = chooseMicroBatch(2048, 'auto', target(2 ** 31 - 4), (b) => (compiled.push(b), linearArena(1e6, 5e5)(b)));
    expect(choice.microBatch).toBe(2048);
    expect(compiled).toEqual([2048]);
  });

  it('shrinks to the largest divisor of the slice that fits (the bench ResNet: 4.87 MB a sample, 2048 a replica, a 2 GiB limit)', () => {
    const compiled: number[] = [];
    const choice = chooseMicroBatch(2048, 'auto', target(2147483644), (b) => (compiled.push(b), linearArena(3e6, 4.872e6)(b)));
    expect(choice.microBatch).toBe(256);
    expect(choice.compiled.arenaBytes).toBeLessThanOrEqual(2147483644);
    expect(compiled).toEqual([2048, 256]);
  });

  it('keeps shrinking while an estimate still misses, and every micro-batch divides the slice', () => {
    // A large fixed part makes the first estimate from bytes per sample too optimistic.
    const choice = chooseMicroBatch(24, 'auto', target(1000), linearArena(700, 40));
    expect(choice.microBatch).toBe(6);
    expect(24 % choice.microBatch).toBe(0);
    expect(largestDivisorAtMost(24, 11.9)).toBe(8);
    expect(largestDivisorAtMost(13, 12)).toBe(1);
  });

  it('names the model, the batch and the limit when even one sample does not fit', () => {
    const fail = () => chooseMicroBatch(2048, 'auto', { model: 'huge', batch: 4096, replicas: 2, limit: 1000 }, linearArena(2000, 10));
    expect(fail).toThrow(ArenaTooLargeError);
    expect(fail).toThrow(/model 'huge', batch 4096 over 2 replicas \(2048 samples each\): even a micro-batch of 1 sample needs .* over the 1000-byte arena limit/);
  });

  it('shrinks a step whose largest value is past the device binding limit (1 MB a sample in one value, 2 GiB bindings)', () => {
    const compiled: number[] = [];
    const windowBytes = 2 ** 31 - 256;
    const choice = chooseMicroBatch(4096, 'auto', target(Infinity), (b) => {
      compiled.push(b);
      if (b * 1e6 > windowBytes) throw new ValueTooLargeError(`too large`, b * 1e6, windowBytes, { value: 'conv/conv' });
      return linearArena(0, 5e6)(b);
    });
    expect(choice.microBatch).toBe(2048);
    expect(compiled).toEqual([4096, 2048]);
    const never = () => chooseMicroBatch(8, 'auto', target(Infinity), (b) => { throw new ValueTooLargeError('too large', 4096 * b, 1024, { value: 'wide' }); });
    expect(never).toThrow(/even a micro-batch of 1 sample has value 'wide' of 4096 bytes, more than the device's largest storage binding \(1024 bytes\)/);
  });

  it('takes a given micro-batch only if it divides the slice and fits', () => {
    expect(chooseMicroBatch(2048, 512, target(1e9), linearArena(0, 1e6)).microBatch).toBe(512);
    expect(() => chooseMicroBatch(2048, 300, target(1e9), linearArena(0, 1e6))).toThrow(ModelError);
    expect(() => chooseMicroBatch(2048, 300, target(1e9), linearArena(0, 1e6))).toThrow(/microBatch 300 must be a whole number of samples that divides 2048/);
    expect(() => chooseMicroBatch(2048, 1024, target(1e9), linearArena(0, 1e6))).toThrow(/a micro-batch of 1024 needs a .* arena \(\d+ bytes\), over the 1000000000-byte arena limit; use a smaller microBatch, or 'auto'/);
  });
});

describe('micro-batched data-parallel training', () => {
  it('two replicas of 4 micro-batches of 2 end, after 3 steps of 16, with the weights, loss and accuracy of one device on the whole batch', async () => {
    clearSession();
    const single = twoLayer('mb_single');
    const micro = twoLayer('mb_micro');
    micro.setWeights(single.getWeights());
    const initial = single.weights.map((w) => w.read());
    const devices = await twoDevices();
    const one = await TrainingSession.create(single, resolveCompileArgs(single, sgd()), 16, devices[0]);
    const two = await DataParallelSession.create(micro, resolveCompileArgs(micro, sgd()), 16, devices, { microBatch: 2, readLoss: true });
    expect(two.bundle.manifest.model.batch).toBe(2);
    expect(two.microBatches).toBe(4);
    for (const s of [one, two]) {
      s.pushWeights();
      s.resetLogs();
    }
    const losses: Promise<unknown>[] = [];
    for (const b of batches(3, 16)) {
      void one.step({ [one.inputNames[0]]: b.x, [one.inputNames[1]]: b.y });
      losses.push(two.step({ [two.inputNames[0]]: b.x, [two.inputNames[1]]: b.y }));
    }
    await one.pullWeights();
    await two.pullWeights();
    // Training moved the weights, so matching is not matching the starting point.
    expect(Math.max(...single.weights.map((w, i) => Math.max(...w.read().map((v, j) => Math.abs(v - initial[i][j])))))).toBeGreaterThan(1e-2);
    single.weights.forEach((w, i) => expectClose(micro.weights[i].read(), w.read(), WEIGHT_TOL, `weight '${w.name}'`));
    const [a, b] = await two.readReplicaStates();
    for (const name of Object.keys(a)) expect(b[name], `replica state '${name}'`).toEqual(a[name]);
    // The running sums count optimizer steps, each the mean over its micro-batches.
    const [logsOne, logsTwo] = [await one.readLogs(), await two.readLogs()];
    expect(logsTwo.steps).toBe(3);
    expect(Math.abs(logsTwo.logs.loss - logsOne.logs.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(logsOne.logs.loss));
    expect(logsTwo.logs.accuracy).toBeCloseTo(logsOne.logs.accuracy, 6);
    expect(logsTwo.nanStep).toBe(-1);
    const read = (await Promise.all(losses)) as { loss: Float32Array }[];
    expect(read.map((r) => r.loss.length)).toEqual([1, 1, 1]);
    expect(read.reduce((s, r) => s + r.loss[0], 0) / 3).toBeCloseTo(logsTwo.logs.loss, 6);
    one.destroy();
    two.destroy();
  }, 180_000);

  it('BatchNormalization: the moving mean averaged over micro-batches is the whole batch\'s', async () => {
    const { one, two, movingMeans } = await batchNormStep('mbn', 2);
    // The mean of four quarter-batch means is the whole batch's mean (the variance is not: per-micro-batch statistics).
    expectClose(movingMeans.split, movingMeans.single, { rtol: 1e-5, atol: 1e-7 }, 'moving mean');
    one.destroy();
    two.destroy();
  }, 180_000);
});

describe('the automatic micro-batch', () => {
  it('is the whole slice with no arena limit, and a smaller divisor under a limit the whole slice passes', async () => {
    clearSession();
    const model = small('mb_auto');
    const devices = await twoDevices();
    const config = resolveCompileArgs(model, sgd());
    expect(planDataParallel(model, config, 16, devices).microBatch).toBe(8);
    const [whole, half] = [8, 4].map((m) => planDataParallel(model, config, 16, devices, { microBatch: m }).bundle.manifest.arena.size);
    expect(half).toBeLessThan(whole);
    const session = await DataParallelSession.create(model, config, 16, devices, { arenaLimit: whole - 1 });
    expect(session.bundle.manifest.arena.size).toBeLessThan(whole);
    expect(session.microBatch).toBeLessThan(8);
    expect(8 % session.microBatch).toBe(0);
    await expectOneStep(session, 16);
    await expect(DataParallelSession.create(model, config, 16, devices, { arenaLimit: 1024 })).rejects.toThrow(/model 'mb_auto', batch 16 over 2 replicas \(8 samples each\): even a micro-batch of 1 sample needs .* over the 1024-byte arena limit/);
  }, 180_000);

  it('on one device with no micro-batch asked for, a step too large for one arena is micro-batched, not a device error', async () => {
    const { model, device, config } = await oneDevice('mb_unasked');
    const whole = TrainingSession.compile(model, config, 8, device).bundle.manifest.arena.size;
    const session = await trainingSessionFor(model, config, 8, [device], { arenaLimit: whole - 1 });
    expect(session).toBeInstanceOf(DataParallelSession);
    expect((session as DataParallelSession).microBatches).toBeGreaterThan(1);
    await expectOneStep(session, 8);
  }, 180_000);

  it('on one device, a step with a value past the device binding limit is micro-batched, not a compile error', async () => {
    const { model, device, config } = await oneDevice('mb_binding');
    // The conv's output is 6·6·4 floats a sample: 4.5 KiB at 8 samples, over 4 KiB bindings; 2.25 KiB at 4.
    const tight = { ...device, adapter: { ...device.adapter, maxBindingBytes: 4096 } };
    expect(() => TrainingSession.compile(model, config, 8, tight)).toThrow(ValueTooLargeError);
    const session = await trainingSessionFor(model, config, 8, [tight]);
    expect(session).toBeInstanceOf(DataParallelSession);
    expect((session as DataParallelSession).microBatch).toBe(4);
    expect(session.bundle.manifest.arena.windowBytes).toBe(4096);
    await expectOneStep(session, 8);
  }, 180_000);

  it('on one device, a step the device cannot allocate is micro-batched into a smaller arena, not an error', async () => {
    const { model, device, config } = await oneDevice('mb_oom');
    const whole = TrainingSession.compile(model, config, 8, device).bundle.manifest.arena.size;
    // A device with memory for less than the whole batch's arena: Net.create fails as Dawn's out-of-memory scope makes it.
    const create = Net.create.bind(Net);
    const tried: number[] = [];
    const spy = vi.spyOn(Net, 'create').mockImplementation(async (bundle, gpu) => {
      tried.push(bundle.manifest.arena.size);
      if (bundle.manifest.arena.size >= whole) throw new OutOfMemoryError(`bundle needs ${bundle.manifest.arena.size} bytes`);
      return create(bundle, gpu);
    });
    try {
      const session = await trainingSessionFor(model, config, 8, [device]);
      expect(session).toBeInstanceOf(DataParallelSession);
      expect((session as DataParallelSession).microBatches).toBeGreaterThan(1);
      expect(tried[0]).toBe(whole);
      expect(tried.at(-1)).toBeLessThan(whole);
      await expectOneStep(session, 8);
      // A micro-batch given by the caller is kept, and the error says what failed.
      await expect(trainingSessionFor(model, config, 8, [device], { microBatch: 8 })).rejects.toThrow(OutOfMemoryError);
    } finally {
      spy.mockRestore();
    }
  }, 180_000);

  it('on one device: the single-submit session when the batch fits, a micro-batched one (same weights) when it does not', async () => {
    clearSession();
    const single = small('mb_one');
    const micro = small('mb_one_micro');
    micro.setWeights(single.getWeights());
    const [device] = await twoDevices();
    const fits = await trainingSessionFor(single, resolveCompileArgs(single, sgd()), 8, [device], { microBatch: 'auto' });
    expect(fits).toBeInstanceOf(TrainingSession);
    const whole = planDataParallel(micro, resolveCompileArgs(micro, sgd()), 8, [device]).bundle.manifest.arena.size;
    const split = await trainingSessionFor(micro, resolveCompileArgs(micro, sgd()), 8, [device], { microBatch: 'auto', arenaLimit: whole - 1 });
    expect(split).toBeInstanceOf(DataParallelSession);
    expect((split as DataParallelSession).microBatches).toBeGreaterThan(1);
    for (const s of [fits, split]) s.pushWeights();
    for (const b of images(2, 8)) {
      void fits.step({ [fits.inputNames[0]]: b.x, [fits.inputNames[1]]: b.y });
      void split.step({ [split.inputNames[0]]: b.x, [split.inputNames[1]]: b.y });
    }
    await fits.pullWeights();
    await split.pullWeights();
    single.weights.forEach((w, i) => expectClose(micro.weights[i].read(), w.read(), WEIGHT_TOL, `weight '${w.name}'`));
    fits.destroy();
    split.destroy();
  }, 180_000);
});

describe('model.fit with micro-batches', () => {
  it('fit({ replicas: 2, microBatch: 2 }) ends with the weights and loss of fit on one device', async () => {
    await expectFitLikeOneDevice(32, 16, { replicas: 2, microBatch: 2 }, WEIGHT_TOL);
  }, 180_000);
});
