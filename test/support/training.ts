/** Models, data and checks shared by the data-parallel and micro-batch training tests. */
import { expect } from 'vitest';
import { Sequential, layers, optimizers, clearSession, type Model } from '../../src/index.js';
import { openAdapters, type OpenAdapter } from '../../src/runtime/index.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { TrainingSession } from '../../src/training/session.js';
import { DataParallelSession } from '../../src/training/replicas.js';
import type { FitArgs } from '../../src/training/fit.js';
import { randomData, randomInts } from './random.js';
import { expectClose } from './close.js';

/** Dense 6 tanh → Dense 3 softmax on 4 features, its layers named after the model. */
export function twoLayer(name: string): Model {
  return new Sequential({ name, layers: [layers.Dense(6, { activation: 'tanh', inputShape: [4], name: `${name}_h` }), layers.Dense(3, { activation: 'softmax', name: `${name}_out` })] });
}

let opened: Promise<OpenAdapter[]> | undefined;
/** Two devices, opened once per test file: two GPUs where there are, two GPUDevices on one adapter on lavapipe. */
export const twoDevices = () => (opened ??= openAdapters(2, { warn: () => undefined }));

/** `count` batches of `batch` samples of `features` random values with one-hot labels of 3 classes, seeded from `seed`. */
export function labelled(count: number, batch: number, features: number, seed: number) {
  return Array.from({ length: count }, (_, k) => {
    const y = new Float32Array(batch * 3);
    randomInts(batch, 3, seed + 10 + k).forEach((c, r) => (y[r * 3 + c] = 1));
    return { x: randomData(batch * features, seed + k), y };
  });
}

/**
 * Two epochs of `fit` over `samples` two-layer samples on one device, and with `options` (replicas,
 * micro-batches) from the same weights, end with the same weights (`tol`) and losses; both in `precision`.
 */
export async function expectFitLikeOneDevice(samples: number, batchSize: number, options: FitArgs, tol: { rtol: number; atol: number }, precision?: 'mixed'): Promise<void> {
  clearSession();
  const single = twoLayer('fit_single');
  const other = twoLayer('fit_other');
  other.setWeights(single.getWeights());
  for (const m of [single, other]) m.compile({ optimizer: optimizers.SGD({ learningRate: 0.2 }), loss: 'categoricalCrossentropy', precision });
  const data = labelled(1, samples, 4, 30)[0];
  const common = { batchSize, epochs: 2, shuffle: false, verbose: 0 as const };
  const h1 = await single.fit(data.x, data.y, common);
  const h2 = await other.fit(data.x, data.y, { ...common, ...options });
  single.weights.forEach((w, i) => expectClose(other.weights[i].read(), w.read(), tol, `weight '${w.name}'`));
  expectClose(h2.history.loss as number[], h1.history.loss as number[], { rtol: 1e-5, atol: 1e-7 }, 'loss per epoch');
  expect(h2.history.loss).toHaveLength(2);
}

/**
 * Dense 6 → BatchNormalization → relu → Dense 3 softmax, one SGD step on the same 8 samples on one
 * device and on two data-parallel replicas (with `microBatch`, if given), the weights pulled back:
 * the sessions, for the caller's checks, and both moving means, which should agree.
 */
export async function batchNormStep(tag: string, microBatch?: number) {
  clearSession();
  const make = (name: string) =>
    new Sequential({ name, layers: [layers.Dense(6, { inputShape: [4], name: `${name}_d` }), layers.BatchNormalization({ name: `${name}_bn` }), layers.Activation('relu'), layers.Dense(3, { activation: 'softmax', name: `${name}_o` })] });
  const single = make(`${tag}_single`);
  const split = make(`${tag}_split`);
  split.setWeights(single.getWeights());
  const devices = await twoDevices();
  const args = (m: Model) => resolveCompileArgs(m, { optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
  const one = await TrainingSession.create(single, args(single), 8, devices[0]);
  const two = await DataParallelSession.create(split, args(split), 8, devices, microBatch === undefined ? {} : { microBatch });
  const [b] = labelled(1, 8, 4, 30);
  await one.step({ [one.inputNames[0]]: b.x, [one.inputNames[1]]: b.y });
  await two.step({ [two.inputNames[0]]: b.x, [two.inputNames[1]]: b.y });
  await one.pullWeights();
  await two.pullWeights();
  const mean = (m: Model) => m.weights.find((w) => w.name.endsWith('moving_mean'))!.read();
  return { one, two, movingMeans: { single: mean(single), split: mean(split) } };
}
