/** A fake fit loop for callback specs: calls the hooks in Keras's order with synthetic logs, no GPU. */
import { callAll, type Callback, type Logs, type TrainingControl, type TrainingParams } from '../../src/training/callbacks/base.js';
import type { Model } from '../../src/frontend/model.js';

/** A TrainingControl that records what callbacks did to it. */
export interface FakeControl extends TrainingControl {
  lr: number;
  syncs: number;
  lrHistory: number[];
}

export function fakeControl(lr = 0.01, onSync?: () => void): FakeControl {
  const c: FakeControl = {
    stopTraining: false,
    lr,
    syncs: 0,
    lrHistory: [],
    getLearningRate: () => c.lr,
    setLearningRate: (v) => {
      c.lr = v;
      c.lrHistory.push(v);
    },
    syncWeights: async () => {
      c.syncs++;
      onSync?.();
    },
  };
  return c;
}

export interface RunOptions {
  control?: FakeControl;
  model?: Model;
  params?: Partial<TrainingParams>;
  /** Logs of each batch of an epoch (batch hooks are skipped when absent). */
  batchLogs?: (epoch: number, batch: number) => Logs | undefined;
  /** Called after onEpochBegin, before onEpochEnd: "training" happens here. */
  train?: (epoch: number) => void;
}

/** Runs epochs with the given epoch logs (copied, so callbacks may add to them); returns the logs seen. */
export async function runFit(callbacks: Callback[], epochLogs: Logs[], opts: RunOptions = {}): Promise<Logs[]> {
  const control = opts.control ?? fakeControl();
  const params: TrainingParams = { epochs: epochLogs.length, steps: 4, batchSize: 8, verbose: 0, metrics: Object.keys(epochLogs[0] ?? {}), ...opts.params };
  for (const cb of callbacks) {
    cb.setParams(params);
    cb.setControl(control);
    if (opts.model) cb.setModel(opts.model);
  }
  const seen: Logs[] = [];
  await callAll(callbacks, 'onTrainBegin', {});
  for (let epoch = 0; epoch < epochLogs.length; epoch++) {
    await callAll(callbacks, 'onEpochBegin', epoch, {});
    for (let b = 0; opts.batchLogs && b < params.steps; b++) {
      const logs = opts.batchLogs(epoch, b);
      await callAll(callbacks, 'onTrainBatchBegin', b, {});
      await callAll(callbacks, 'onTrainBatchEnd', b, logs);
      if (control.stopTraining) break;
    }
    opts.train?.(epoch);
    const logs = { ...epochLogs[epoch] };
    await callAll(callbacks, 'onEpochEnd', epoch, logs);
    seen.push(logs);
    if (control.stopTraining) break;
  }
  await callAll(callbacks, 'onTrainEnd', {});
  return seen;
}

/** Epoch logs with only the given metric, one value per epoch. */
export const series = (name: string, values: number[]): Logs[] => values.map((v) => ({ loss: 1, [name]: v }));
