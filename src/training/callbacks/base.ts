import type { Model } from '../../frontend/model.js';

/** Metric values by name (`loss`, `accuracy`, `val_loss`, …), as Keras passes them to callbacks. */
export type Logs = Record<string, number>;

/** What a fit run tells its callbacks before it starts. */
export interface TrainingParams {
  readonly epochs: number;
  /** Steps (batches) per epoch. */
  readonly steps: number;
  readonly batchSize: number;
  readonly verbose: 0 | 1 | 2;
  /** Names that logs will carry, e.g. ['loss', 'accuracy', 'val_loss', 'val_accuracy']. */
  readonly metrics: readonly string[];
}

/**
 * The training loop's side of a callback: stop training, and read or set the learning rate (a value
 * kept on the GPU, so a change needs no recompile).
 */
export interface TrainingControl {
  stopTraining: boolean;
  getLearningRate(): number;
  setLearningRate(value: number): void;
  /** Copies the weights the GPU trained back into the model's variables (before saving them). */
  syncWeights(): Promise<void>;
}

/**
 * A Keras callback: override the hooks you need. Hooks may be async; the loop awaits them. Batch hooks
 * get the latest logs the loop has read back, which kiln reads only every `batchLogsEvery` steps
 * (a GPU readback per step would stall the pipeline), unless a callback sets `wantsEveryBatch`.
 */
export class Callback {
  model?: Model;
  params?: TrainingParams;
  control?: TrainingControl;
  /** Ask the loop to read the running loss and metrics after every batch (slower). */
  wantsEveryBatch = false;

  setModel(model: Model): void {
    this.model = model;
  }
  setParams(params: TrainingParams): void {
    this.params = params;
  }
  setControl(control: TrainingControl): void {
    this.control = control;
  }
  onTrainBegin(_logs?: Logs): void | Promise<void> {}
  onTrainEnd(_logs?: Logs): void | Promise<void> {}
  onEpochBegin(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onEpochEnd(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onTrainBatchBegin(_batch: number, _logs?: Logs): void | Promise<void> {}
  onTrainBatchEnd(_batch: number, _logs?: Logs): void | Promise<void> {}
  onTestBegin(_logs?: Logs): void | Promise<void> {}
  onTestEnd(_logs?: Logs): void | Promise<void> {}
  onPredictBegin(_logs?: Logs): void | Promise<void> {}
  onPredictEnd(_logs?: Logs): void | Promise<void> {}
}

/** Calls a hook on every callback in order, awaiting each. */
export async function callAll<K extends keyof Callback>(callbacks: readonly Callback[], hook: K, ...args: unknown[]): Promise<void> {
  for (const cb of callbacks) await (cb[hook] as (...a: unknown[]) => unknown).apply(cb, args);
}
