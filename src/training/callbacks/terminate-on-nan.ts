import { Callback, type Logs } from './base.js';
import { requireControl } from './common.js';

/**
 * Stops training when the loss becomes NaN or infinite, as Keras's `TerminateOnNaN`. kiln reads batch
 * logs only every few steps, so the loss is checked on every batch log that arrives and on the epoch's logs.
 */
export class TerminateOnNaN extends Callback {
  private epoch = 0;
  private stopped = false;

  override onTrainBegin(): void {
    this.stopped = false;
  }

  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }

  override onTrainBatchEnd(batch: number, logs?: Logs): void {
    this.check(logs, `Epoch ${this.epoch + 1}, batch ${batch}`);
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    this.check(logs, `Epoch ${epoch + 1}`);
  }

  private check(logs: Logs | undefined, where: string): void {
    const loss = logs?.loss;
    if (loss === undefined || Number.isFinite(loss) || this.stopped) return;
    requireControl(this, 'TerminateOnNaN').stopTraining = true;
    this.stopped = true;
    console.log(`${where}: Invalid loss (${loss}), terminating training`);
  }
}
