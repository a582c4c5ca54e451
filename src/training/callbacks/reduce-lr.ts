import { Callback, type Logs } from './base.js';
import { CallbackError, MonitorReader, requireControl, resolveMode, type Mode } from './common.js';

/** Options of ReduceLROnPlateau, as Keras's arguments. */
export interface ReduceLROnPlateauArgs {
  /** The log to watch. Default 'val_loss'. */
  monitor?: string;
  /** new lr = lr × factor; must be below 1. Default 0.1. */
  factor?: number;
  /** Epochs without improvement before reducing. Default 10. */
  patience?: number;
  /** 1 prints each reduction. Default 0. */
  verbose?: 0 | 1;
  /** 'min', 'max', or 'auto' (max for names with 'acc'/'auc', else min). Default 'auto'. */
  mode?: Mode;
  /** An improvement must beat the best by more than this. Default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting patience again. Default 0. */
  cooldown?: number;
  /** The learning rate never goes below this. Default 0. */
  minLr?: number;
}

/**
 * Reduces the learning rate when a metric has stopped improving, as Keras 3's `ReduceLROnPlateau`;
 * it also records the epoch's learning rate (before any reduction) as `learning_rate` in the epoch logs.
 * The rate is read and set through the loop's control (a GPU value: no recompile).
 */
export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  readonly mode: 'min' | 'max';
  /** Epochs without improvement since the last improvement or reduction. */
  wait = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  best: number;
  private readonly verbose: number;
  private readonly reader: MonitorReader;

  constructor(args: ReduceLROnPlateauArgs = {}) {
    super();
    this.factor = args.factor ?? 0.1;
    if (!(this.factor < 1)) throw new CallbackError(`ReduceLROnPlateau does not support a factor >= 1.0. Received factor=${this.factor}`);
    this.monitor = args.monitor ?? 'val_loss';
    this.patience = args.patience ?? 10;
    this.verbose = args.verbose ?? 0;
    this.minDelta = args.minDelta ?? 1e-4;
    this.cooldown = args.cooldown ?? 0;
    this.minLr = args.minLr ?? 0;
    this.mode = resolveMode(this.monitor, args.mode ?? 'auto', 'ReduceLROnPlateau');
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.reader = new MonitorReader(this.monitor, 'Learning rate reduction');
  }

  override onTrainBegin(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.cooldownCounter = 0;
    this.wait = 0;
  }

  override onEpochEnd(epoch: number, logs?: Logs): void {
    const control = requireControl(this, 'ReduceLROnPlateau');
    if (logs) logs.learning_rate = control.getLearningRate();
    const current = this.reader.read(logs);
    if (current === undefined) return;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.mode === 'min' ? current < this.best - this.minDelta : current > this.best + this.minDelta) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter <= 0) {
      this.wait += 1;
      if (this.wait >= this.patience) {
        const oldLr = control.getLearningRate();
        if (oldLr > Math.fround(this.minLr)) {
          const newLr = Math.max(oldLr * this.factor, this.minLr);
          control.setLearningRate(newLr);
          if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${newLr}.`);
          this.cooldownCounter = this.cooldown;
          this.wait = 0;
        }
      }
    }
  }
}
