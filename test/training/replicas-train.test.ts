/**
 * Data-parallel training: two replicas (two GPUDevices; on lavapipe both on the one adapter, the
 * stand-in for two GPUs), each on half of every batch, with gradients averaged between a gradient
 * phase and an update phase, end with the weights one replica reaches on the whole batch (SGD with
 * momentum and Adam), the two replicas stay identical bit for bit, and model.fit({ replicas: 2 })
 * trains like model.fit on one device.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession, type Model } from '../../src/index.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { TrainingSession } from '../../src/training/session.js';
import { DataParallelSession } from '../../src/training/replicas.js';
import { dataParallelProgram, REDUCED } from '../../src/training/data-parallel.js';
import { randomData, randomInts } from '../support/random.js';
import { batchNormStep, expectFitLikeOneDevice, labelled, twoDevices, twoLayer } from '../support/training.js';
import { expectClose } from '../support/close.js';

/** Float32 sums over 4 samples, then a mean of two, against one sum over 8: a few ulps per step, grown over the steps. */
const WEIGHT_TOL = { rtol: 1e-4, atol: 1e-6 };

const batches = (count: number, batch: number) => labelled(count, batch, 4, 30);

describe('the data-parallel step program', () => {
  it('reads averaged gradients, loss and metrics from inputs in an update phase that comes after every gradient is computed', () => {
    clearSession();
    const model = twoLayer('prog');
    const config = resolveCompileArgs(model, { optimizer: optimizers.Adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
    const step = dataParallelProgram(model, config, 4, true);
    const { graph } = step.program;
    // The running sums of loss and metrics add averaged values, so micro-batches and replicas weigh the same.
    expect(step.exchange.map((e) => e.output).sort()).toEqual([...step.trainable.map((w) => `grad/${w}`), 'loss'].sort());
    const reducedAt = graph.nodes.filter((n) => n.op === 'input' && String(n.attrs.name).startsWith(REDUCED)).map((n) => n.id);
    expect(reducedAt).toHaveLength(step.trainable.length + 1);
    expect(Math.min(...reducedAt)).toBeGreaterThanOrEqual(step.updateStart);
    for (const e of step.exchange) expect(graph.outputs.find((o) => o.name === e.output)!.value.node).toBeLessThan(step.updateStart);
  });
});

describe('two replicas against one on the whole batch', () => {
  const cases = [
    { name: 'SGD with momentum', optimizer: () => optimizers.SGD({ learningRate: 0.1, momentum: 0.9 }) },
    { name: 'Adam', optimizer: () => optimizers.Adam({ learningRate: 0.01 }) },
  ];
  for (const c of cases) {
    it(`${c.name}: after 4 steps the weights match, and the replicas are identical`, async () => {
      clearSession();
      const single = twoLayer('single');
      const replicated = twoLayer('replicated');
      replicated.setWeights(single.getWeights());
      const initial = single.weights.map((w) => w.read());
      const devices = await twoDevices();
      const one = await TrainingSession.create(single, resolveCompileArgs(single, { optimizer: c.optimizer(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] }), 8, devices[0]);
      const two = await DataParallelSession.create(replicated, resolveCompileArgs(replicated, { optimizer: c.optimizer(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] }), 8, devices);
      expect(two.replicas).toHaveLength(2);
      expect(two.bundle.manifest.model.batch).toBe(4);
      // The averaged-gradient inputs are the session's own business, not the caller's.
      expect(two.inputNames).toHaveLength(one.inputNames.length);
      expect(two.inputNames.some((n) => n.startsWith(REDUCED))).toBe(false);
      for (const s of [one, two]) {
        s.pushWeights();
        s.resetLogs();
      }
      for (const b of batches(4, 8)) {
        void one.step({ [one.inputNames[0]]: b.x, [one.inputNames[1]]: b.y });
        void two.step({ [two.inputNames[0]]: b.x, [two.inputNames[1]]: b.y });
      }
      await one.pullWeights();
      await two.pullWeights();
      // Training moved the weights, so matching is not matching the starting point.
      expect(Math.max(...single.weights.map((w, i) => Math.max(...w.read().map((v, j) => Math.abs(v - initial[i][j])))))).toBeGreaterThan(1e-2);
      single.weights.forEach((w, i) => expectClose(replicated.weights[i].read(), w.read(), WEIGHT_TOL, `${c.name}: weight '${w.name}'`));
      const [a, b] = await two.readReplicaStates();
      for (const name of Object.keys(a)) if (!name.startsWith('__')) expect(b[name], `replica state '${name}'`).toEqual(a[name]);
      const logsOne = await one.readLogs();
      const logsTwo = await two.readLogs();
      expect(logsTwo.steps).toBe(4);
      expect(Math.abs(logsTwo.logs.loss - logsOne.logs.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(logsOne.logs.loss));
      expect(logsTwo.logs.accuracy).toBeCloseTo(logsOne.logs.accuracy, 6);
      expect(logsTwo.nanStep).toBe(-1);
      one.destroy();
      two.destroy();
    }, 180_000);
  }
});

describe('a convolutional model under replicas', () => {
  it('matches one replica on the whole batch after 2 SGD steps', async () => {
    clearSession();
    const make = (name: string) =>
      new Sequential({ name, layers: [layers.Conv2D({ filters: 3, kernelSize: 3, activation: 'relu', inputShape: [5, 5, 2], name: `${name}_c` }), layers.Flatten(), layers.Dense(3, { activation: 'softmax', name: `${name}_o` })] });
    const single = make('conv_single');
    const replicated = make('conv_replicated');
    replicated.setWeights(single.getWeights());
    const devices = await twoDevices();
    const args = () => ({ optimizer: optimizers.SGD({ learningRate: 0.2 }), loss: 'categoricalCrossentropy' as const });
    const one = await TrainingSession.create(single, resolveCompileArgs(single, args()), 4, devices[0]);
    const two = await DataParallelSession.create(replicated, resolveCompileArgs(replicated, args()), 4, devices);
    for (let k = 0; k < 2; k++) {
      const x = randomData(4 * 5 * 5 * 2, 60 + k);
      const y = new Float32Array(4 * 3);
      randomInts(4, 3, 70 + k).forEach((c, r) => (y[r * 3 + c] = 1));
      void one.step({ [one.inputNames[0]]: x, [one.inputNames[1]]: y });
      void two.step({ [two.inputNames[0]]: x, [two.inputNames[1]]: y });
    }
    await one.pullWeights();
    await two.pullWeights();
    single.weights.forEach((w, i) => expectClose(replicated.weights[i].read(), w.read(), WEIGHT_TOL, `weight '${w.name}'`));
    one.destroy();
    two.destroy();
  }, 180_000);
});

describe('BatchNormalization under replicas', () => {
  it("averages the replicas' moving statistics: after one step the moving mean is the whole batch's, and the replicas stay identical", async () => {
    const { one, two, movingMeans } = await batchNormStep('bn');
    expect(two.exchange.map((e) => e.input)).toEqual(expect.arrayContaining([`${REDUCED}bn_split_bn/moving_mean`, `${REDUCED}bn_split_bn/moving_variance`]));
    // The mean of two half-batch means is the whole batch's mean (the variance is not: per-replica batch statistics).
    expectClose(movingMeans.split, movingMeans.single, { rtol: 1e-5, atol: 1e-7 }, 'moving mean');
    const [r0, r1] = await two.readReplicaStates();
    for (const name of Object.keys(r0)) if (!name.startsWith('__')) expect(r1[name], `replica state '${name}'`).toEqual(r0[name]);
    one.destroy();
    two.destroy();
  }, 180_000);
});

describe('model.fit with replicas', () => {
  it('fit({ replicas: 2 }) ends with the weights and loss of fit on one device', async () => {
    await expectFitLikeOneDevice(16, 8, { replicas: 2 }, WEIGHT_TOL);
  }, 180_000);

  it('in mixed precision (each replica scaling its loss, the finite test on the averaged gradients), trains like model.fit on one device in mixed precision', async () => {
    await expectFitLikeOneDevice(16, 8, { replicas: 2 }, { rtol: 1e-3, atol: 1e-5 }, 'mixed');
  }, 180_000);

  it('a batch that does not split over the replicas is an error naming both', async () => {
    clearSession();
    const m = twoLayer('odd');
    m.compile({ optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    const data = batches(1, 10)[0];
    await expect(m.fit(data.x, data.y, { batchSize: 5, epochs: 1, verbose: 0, replicas: 2 })).rejects.toThrow(/batch 5 does not split evenly over 2 replicas/);
  });
});
