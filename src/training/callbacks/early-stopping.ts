import { Callback, type Logs } from './base.js';
import { MonitorReader, requireControl, requireModel, resolveMode, type Mode } from './common.js';

/** Options of EarlyStopping, as Keras's `EarlyStopping` arguments. */
export interface EarlyStoppingArgs {
  /** The log to watch. Default 'val_loss'. */
  monitor?: string;
  /** A change smaller than this (in absolute value) is no improvement. Default 0. */
  minDelta?: number;
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** 1 prints when it stops and when it restores weights. Default 0. */
  verbose?: 0 | 1;
  /** 'min', 'max', or 'auto' (max for names with 'acc'/'auc', else min). Default 'auto'. */
  mode?: Mode;
  /** The value to beat: patience only restarts once the monitored value beats both it and the best so far. */
  baseline?: number;
  /** At the end of training, put back the weights of the best epoch. Default false. */
  restoreBestWeights?: boolean;
  /** Epochs to wait before watching at all (warm-up). Default 0. */
  startFromEpoch?: number;
}

/**
 * Stops training when a monitored quantity has stopped improving, exactly as Keras 3's `EarlyStopping`.
 * With `restoreBestWeights` it reads the GPU's weights back (`control.syncWeights()`) at each new best,
 * and sets them on the model at the end of training; the loop must therefore sync its weights into the
 * model before `onTrainEnd`, and treat the model's values as final after it.
 */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly baseline?: number;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  readonly mode: 'min' | 'max';
  /** Epochs since the last improvement (counted as Keras counts them). */
  wait = 0;
  /** The 0-based epoch at which training was stopped, or 0 if it was not. */
  stoppedEpoch = 0;
  /** The best monitored value so far. */
  best: number;
  /** The 0-based epoch of `best`. */
  bestEpoch = 0;
  bestWeights: Float32Array[] | null = null;
  private readonly verbose: number;
  private readonly reader: MonitorReader;

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    this.minDelta = Math.abs(args.minDelta ?? 0);
    this.patience = args.patience ?? 0;
    this.verbose = args.verbose ?? 0;
    this.baseline = args.baseline;
    this.restoreBestWeights = args.restoreBestWeights ?? false;
    this.startFromEpoch = args.startFromEpoch ?? 0;
    this.mode = resolveMode(this.monitor, args.mode ?? 'auto', 'EarlyStopping');
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.reader = new MonitorReader(this.monitor, 'Early stopping');
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.bestWeights = null;
    this.bestEpoch = 0;
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const current = this.reader.read(logs);
    if (current === undefined || epoch < this.startFromEpoch) return;
    if (this.restoreBestWeights && this.bestWeights === null) {
      this.bestWeights = await this.currentWeights(); // until something improves, these are the best
      this.bestEpoch = epoch;
    }
    this.wait += 1;
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = await this.currentWeights();
      if (this.baseline === undefined || this.isImprovement(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      requireControl(this, 'EarlyStopping').stopTraining = true;
    }
  }

  override onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== null) {
      if (this.verbose > 0) console.log(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      requireModel(this, 'EarlyStopping').setWeights(this.bestWeights);
    }
  }

  private isImprovement(value: number, reference: number): boolean {
    return this.mode === 'min' ? value + this.minDelta < reference : value - this.minDelta > reference;
  }

  private async currentWeights(): Promise<Float32Array[]> {
    const model = requireModel(this, 'EarlyStopping');
    await this.control?.syncWeights();
    return model.getWeights();
  }
}
