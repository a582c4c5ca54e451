import { Callback, type Logs } from './base.js';

/**
 * Records every epoch's logs, as Keras's `History` (what `fit` returns): `history.history.loss[e]`,
 * `history.history.val_loss[e]`, …, the epoch indices in `epoch`, and the fit's `params`.
 */
export class History extends Callback {
  /** Each log name's values, one per epoch that reported it. */
  history: Record<string, number[]> = {};
  /** The (0-based) epochs seen, in order. */
  epoch: number[] = [];

  override onTrainBegin(): void {
    this.epoch = [];
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
}
