import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Input, Model, layers, clearSession } from '../../src/index.js';
import { callbacks } from './imports.js';
import { fakeControl, runFit, series } from './fake-loop.js';

beforeEach(() => clearSession());
afterEach(() => vi.restoreAllMocks());

const epochsRun = (logs: unknown[]) => logs.length;

describe('History', () => {
  it('collects each log name per epoch, and the epochs, as Keras', async () => {
    const h = callbacks.History();
    await runFit([h], [{ loss: 0.9, val_loss: 1 }, { loss: 0.5, val_loss: 0.7 }], { params: { verbose: 0 } });
    expect(h.history).toEqual({ loss: [0.9, 0.5], val_loss: [1, 0.7] });
    expect(h.epoch).toEqual([0, 1]);
    expect(h.params?.epochs).toBe(2);
  });
});

describe('EarlyStopping', () => {
  it('runs patience + 1 epochs on a flat loss (the Keras docstring example: patience 3 → 4 epochs)', async () => {
    const es = callbacks.EarlyStopping({ monitor: 'loss', patience: 3 });
    expect(epochsRun(await runFit([es], series('loss', Array(10).fill(1))))).toBe(4);
    expect(es.stoppedEpoch).toBe(3);
  });

  it('patience counts epochs since the best, and an improvement resets it', async () => {
    const es = callbacks.EarlyStopping({ patience: 2 });
    const logs = await runFit([es], series('val_loss', [1, 0.9, 0.95, 0.85, 0.9, 0.91, 0.5]));
    expect(epochsRun(logs)).toBe(6);
    expect(es.best).toBe(0.85);
    expect(es.bestEpoch).toBe(3);
  });

  it('patience 0 stops at the first epoch without improvement, but never at epoch 0', async () => {
    expect(epochsRun(await runFit([callbacks.EarlyStopping()], series('val_loss', [1, 1, 1])))).toBe(2);
    expect(epochsRun(await runFit([callbacks.EarlyStopping()], series('val_loss', [3, 2, 1, 1.5])))).toBe(4);
  });

  it('minDelta: a smaller change is no improvement (and its sign does not matter)', async () => {
    const vals = [1, 0.99, 0.98, 0.97];
    expect(epochsRun(await runFit([callbacks.EarlyStopping({ patience: 1 })], series('val_loss', vals)))).toBe(4);
    expect(epochsRun(await runFit([callbacks.EarlyStopping({ patience: 1, minDelta: 0.05 })], series('val_loss', vals)))).toBe(2);
    expect(epochsRun(await runFit([callbacks.EarlyStopping({ patience: 1, minDelta: -0.05 })], series('val_loss', vals)))).toBe(2);
  });

  it("mode 'auto' maximizes names with acc or auc and minimizes the rest; 'max'/'min' force it", async () => {
    expect(new callbacks.EarlyStopping({ monitor: 'val_accuracy' }).mode).toBe('max');
    expect(callbacks.EarlyStopping({ monitor: 'auc' }).mode).toBe('max');
    expect(callbacks.EarlyStopping({ monitor: 'val_mae' }).mode).toBe('min');
    expect(callbacks.EarlyStopping({ monitor: 'loss', mode: 'max' }).mode).toBe('max');
    expect(epochsRun(await runFit([callbacks.EarlyStopping({ monitor: 'val_accuracy' })], series('val_accuracy', [0.5, 0.6, 0.55, 0.7])))).toBe(3);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(callbacks.EarlyStopping({ monitor: 'acc', mode: 'sideways' as never }).mode).toBe('max');
    expect(warn.mock.calls[0][0]).toContain('mode sideways is unknown');
  });

  it('baseline: patience restarts only when the value beats the baseline as well as the best', async () => {
    const worse = [0.9, 0.95, 0.97, 0.99];
    expect(epochsRun(await runFit([callbacks.EarlyStopping({ patience: 2 })], series('val_loss', worse)))).toBe(3);
    expect(epochsRun(await runFit([callbacks.EarlyStopping({ patience: 2, baseline: 0.5 })], series('val_loss', worse)))).toBe(2);
    const good = [0.4, 0.45, 0.46, 0.47];
    expect(epochsRun(await runFit([callbacks.EarlyStopping({ patience: 2, baseline: 0.5 })], series('val_loss', good)))).toBe(3);
  });

  it('startFromEpoch: epochs before it are not watched', async () => {
    const es = callbacks.EarlyStopping({ patience: 0, startFromEpoch: 2 });
    expect(epochsRun(await runFit([es], series('val_loss', [1, 2, 3, 3, 3])))).toBe(4);
    expect(es.best).toBe(3);
  });

  it('restoreBestWeights: syncs the GPU weights at each best and restores the best epoch at the end', async () => {
    const x = Input({ shape: [2] });
    const model = new Model({ inputs: x, outputs: layers.Dense(1)(x) });
    const control = fakeControl();
    const train = (epoch: number) => model.setWeights([[epoch, epoch], [epoch]]); // "training" changes the weights
    const es = callbacks.EarlyStopping({ patience: 2, restoreBestWeights: true });
    const logs = await runFit([es], series('val_loss', [0.5, 0.3, 0.4, 0.6, 0.1]), { model, control, train });
    expect(epochsRun(logs)).toBe(4);
    expect(model.getWeights().map((w) => [...w])).toEqual([[1, 1], [1]]);
    expect(control.syncs).toBe(3); // first epoch (as Keras: best until beaten) + its improvement, then epoch 1's
  });

  it('restoreBestWeights also restores when training ran to the end without stopping (Keras 3)', async () => {
    const x = Input({ shape: [1] });
    const model = new Model({ inputs: x, outputs: layers.Dense(1, { useBias: false })(x) });
    await runFit([callbacks.EarlyStopping({ patience: 5, restoreBestWeights: true })], series('val_loss', [0.5, 0.2, 0.4]), {
      model,
      train: (e) => model.setWeights([[e + 10]]),
    });
    expect([...model.getWeights()[0]]).toEqual([11]);
  });

  it('warns once when the monitored metric is missing, naming it and what is available, and never stops', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const logs = await runFit([callbacks.EarlyStopping()], [{ loss: 1 }, { loss: 1 }, { loss: 1 }]);
    expect(epochsRun(logs)).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/`val_loss` which is not available. Available metrics are: loss/);
  });
});

describe('ReduceLROnPlateau', () => {
  it('multiplies the rate by factor after patience epochs without improvement, logging the epoch rate', async () => {
    const control = fakeControl(1);
    const cb = callbacks.ReduceLROnPlateau({ patience: 2, factor: 0.5 });
    const seen = await runFit([cb], series('val_loss', [1, 1, 1, 1, 1]), { control });
    expect(control.lrHistory).toEqual([0.5, 0.25]);
    expect(seen.map((l) => l.learning_rate)).toEqual([1, 1, 1, 0.5, 0.5]); // the rate used during the epoch
  });

  it('minDelta (default 1e-4): a smaller improvement does not count', async () => {
    const control = fakeControl(1);
    await runFit([callbacks.ReduceLROnPlateau({ patience: 1 })], series('val_loss', [1, 1 - 5e-5, 1 - 9e-5]), { control });
    expect(control.lrHistory).toHaveLength(2);
    const c2 = fakeControl(1);
    await runFit([callbacks.ReduceLROnPlateau({ patience: 1 })], series('val_loss', [1, 0.99, 0.98]), { control: c2 });
    expect(c2.lrHistory).toEqual([]);
  });

  it('cooldown: no counting for that many epochs after a reduction', async () => {
    const control = fakeControl(1);
    const seen = await runFit([callbacks.ReduceLROnPlateau({ patience: 1, cooldown: 2, factor: 0.5 })], series('loss', Array(7).fill(1)).map((l) => ({ ...l, val_loss: 1 })), { control });
    expect(seen.map((l) => l.learning_rate)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]); // reductions at epochs 1, 3, 5
  });

  it('minLr: never below it, and no change once there', async () => {
    const control = fakeControl(1);
    await runFit([callbacks.ReduceLROnPlateau({ patience: 1, minLr: 0.05 })], series('val_loss', Array(6).fill(1)), { control });
    expect(control.lrHistory.map((v) => +v.toFixed(6))).toEqual([0.1, 0.05]);
  });

  it('maximizes accuracy in auto mode; rejects factor >= 1', async () => {
    const control = fakeControl(1);
    await runFit([callbacks.ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1 })], series('val_accuracy', [0.1, 0.2, 0.3]), { control });
    expect(control.lrHistory).toEqual([]);
    expect(() => callbacks.ReduceLROnPlateau({ factor: 1 })).toThrow(/factor >= 1.0/);
  });
});

describe('LearningRateScheduler', () => {
  it('sets schedule(epoch, lr) at each epoch begin and logs learning_rate at its end; History after it sees it', async () => {
    const control = fakeControl(0.1);
    const sched = callbacks.LearningRateScheduler((epoch, lr) => (epoch < 2 ? lr : lr / 2));
    const { callbacks: list, history } = callbacks.withDefaultCallbacks([sched], 0);
    await runFit(list, series('loss', [1, 1, 1, 1]), { control });
    expect(history.history.learning_rate).toEqual([0.1, 0.1, 0.05, 0.025]);
  });

  it('a schedule that returns a non-number is an error naming the epoch', async () => {
    const bad = callbacks.LearningRateScheduler((epoch) => (epoch === 1 ? NaN : 0.1));
    await expect(runFit([bad], series('loss', [1, 1]))).rejects.toThrow(/finite number, got NaN for epoch 1/);
  });
});

describe('TerminateOnNaN', () => {
  it('stops on a NaN batch loss and says where', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const control = fakeControl();
    const seen = await runFit([callbacks.TerminateOnNaN()], series('loss', [1, 1, 1]), { control, batchLogs: (e, b) => ({ loss: e === 1 && b >= 2 ? NaN : 0.5 }) });
    expect(control.stopTraining).toBe(true);
    expect(seen).toHaveLength(2);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toBe('Epoch 2, batch 2: Invalid loss (NaN), terminating training');
  });

  it('stops on an infinite epoch loss, and not on finite ones', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await runFit([callbacks.TerminateOnNaN()], series('loss', [1, Infinity, 1]))).toHaveLength(2);
    expect(await runFit([callbacks.TerminateOnNaN()], series('loss', [1, 2, 3]))).toHaveLength(3);
  });
});

describe('callbacks module', () => {
  it('factories and classes are the same thing, Keras/TF.js style', () => {
    expect(callbacks.EarlyStopping({ patience: 1 })).toBeInstanceOf(callbacks.EarlyStopping);
    expect(new callbacks.TerminateOnNaN()).toBeInstanceOf(callbacks.Callback);
    expect(callbacks.earlyStopping({ patience: 4 }).patience).toBe(4);
  });

  it('withDefaultCallbacks appends History then ProgbarLogger (verbose > 0), reusing a user History', () => {
    const h = callbacks.History();
    const es = callbacks.EarlyStopping();
    const { callbacks: list, history } = callbacks.withDefaultCallbacks([h, es], 1);
    expect(history).toBe(h);
    expect(list.map((c) => c.constructor.name)).toEqual(['History', 'EarlyStopping', 'ProgbarLogger']);
    expect(callbacks.withDefaultCallbacks([es], 0).callbacks.map((c) => c.constructor.name)).toEqual(['EarlyStopping', 'History']);
  });
});
