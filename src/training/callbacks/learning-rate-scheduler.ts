import { Callback, type Logs } from './base.js';
import { CallbackError, requireControl } from './common.js';

/** A schedule: the learning rate for a (0-based) epoch, given the current one. */
export type Schedule = (epoch: number, lr: number) => number;

/**
 * Sets the learning rate at the start of every epoch from `schedule(epoch, lr)`, as Keras 3's
 * `LearningRateScheduler`, and records it as `learning_rate` in the epoch's logs at its end.
 */
export class LearningRateScheduler extends Callback {
  constructor(readonly schedule: Schedule, private readonly verbose: 0 | 1 = 0) {
    super();
  }

  override onEpochBegin(epoch: number): void {
    const control = requireControl(this, 'LearningRateScheduler');
    const lr = this.schedule(epoch, control.getLearningRate());
    if (typeof lr !== 'number' || !Number.isFinite(lr)) {
      throw new CallbackError(`LearningRateScheduler: the schedule must return a finite number, got ${String(lr)} for epoch ${epoch}`, { epoch });
    }
    control.setLearningRate(lr);
    if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${lr}.`);
  }

  override onEpochEnd(_epoch: number, logs?: Logs): void {
    if (logs) logs.learning_rate = requireControl(this, 'LearningRateScheduler').getLearningRate();
  }
}
