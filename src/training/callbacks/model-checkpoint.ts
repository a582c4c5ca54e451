import type { Model } from '../../frontend/model.js';
import { saveWeights } from '../weights-file.js';
import { Callback, type Logs } from './base.js';
import { CallbackError, requireModel, resolveMode, type Mode } from './common.js';
import { formatPath } from './format.js';

/** Options of ModelCheckpoint, as Keras's arguments. */
export interface ModelCheckpointArgs {
  /** Where to save; may hold Keras placeholders: `ckpt/w-{epoch:02d}-{val_loss:.2f}.kw` (epoch 1-based). */
  filepath: string;
  /** The log `saveBestOnly` compares. Default 'val_loss'. */
  monitor?: string;
  /** 1 prints each save (and each skipped one with saveBestOnly). Default 0. */
  verbose?: 0 | 1;
  /** Save only when `monitor` improves on the best so far. Default false. */
  saveBestOnly?: boolean;
  /** kiln saves weights (the kiln weights file); whole-model saving is not supported yet. Default true. */
  saveWeightsOnly?: boolean;
  /** 'min', 'max', or 'auto' (max for names with 'acc'/'auc', else min). Default 'auto'. */
  mode?: Mode;
  /** 'epoch' (at each epoch's end) or a number of batches between saves. Default 'epoch'. */
  saveFreq?: 'epoch' | number;
  /** With saveBestOnly, the value the first save must beat. */
  initialValueThreshold?: number;
  /** Writes the weights file; default `saveWeights` (atomic). For other formats, and for tests. */
  writer?: (model: Model, path: string) => Promise<void>;
}

/**
 * Saves the model's weights during training, as Keras's `ModelCheckpoint`: at each epoch's end (or every
 * `saveFreq` batches), optionally only when the monitored value improves. Before writing it reads the GPU's
 * weights back with `control.syncWeights()`; the write is atomic, so an interrupted save leaves the previous
 * file intact. A path placeholder naming a metric the logs lack is a CallbackError naming it.
 */
export class ModelCheckpoint extends Callback {
  readonly filepath: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  readonly saveFreq: 'epoch' | number;
  readonly mode: 'min' | 'max';
  /** The best monitored value saved so far. */
  best: number;
  private readonly verbose: number;
  private readonly writer: (model: Model, path: string) => Promise<void>;
  private currentEpoch = 0;
  private batchesSinceSave = 0;
  private lastBatch = -1;
  private warned = false;

  constructor(args: ModelCheckpointArgs) {
    super();
    if (!args || typeof args.filepath !== 'string' || !args.filepath) throw new CallbackError('ModelCheckpoint needs a filepath');
    if (args.saveWeightsOnly === false) throw new CallbackError('ModelCheckpoint: kiln saves weights only (saveWeightsOnly: true); whole-model saving is not supported yet');
    const freq = args.saveFreq ?? 'epoch';
    if (freq !== 'epoch' && !(Number.isInteger(freq) && freq > 0)) throw new CallbackError(`ModelCheckpoint: saveFreq must be 'epoch' or a positive integer, got ${String(freq)}`);
    this.filepath = args.filepath;
    this.monitor = args.monitor ?? 'val_loss';
    this.verbose = args.verbose ?? 0;
    this.saveBestOnly = args.saveBestOnly ?? false;
    this.saveFreq = freq;
    this.mode = resolveMode(this.monitor, args.mode ?? 'auto', 'ModelCheckpoint');
    this.best = args.initialValueThreshold ?? (this.mode === 'min' ? Infinity : -Infinity);
    this.writer = args.writer ?? saveWeights;
  }

  override onEpochBegin(epoch: number): void {
    this.currentEpoch = epoch;
  }

  override async onTrainBatchEnd(batch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') return;
    this.batchesSinceSave += batch <= this.lastBatch ? batch + 1 : batch - this.lastBatch; // a smaller index: new epoch
    this.lastBatch = batch;
    if (this.batchesSinceSave < this.saveFreq) return;
    this.batchesSinceSave = 0;
    await this.save(this.currentEpoch, batch, logs ?? {});
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') await this.save(epoch, undefined, logs ?? {});
  }

  /** The path a save at this epoch (0-based) and batch would write. */
  filePath(epoch: number, batch: number | undefined, logs: Logs): string {
    const ints: Record<string, number> = { epoch: epoch + 1 };
    if (batch !== undefined && !('batch' in logs)) ints.batch = batch + 1;
    const floats = Object.fromEntries(Object.entries(logs).filter(([k]) => !(k in ints)));
    return formatPath(this.filepath, ints, floats);
  }

  private async save(epoch: number, batch: number | undefined, logs: Logs): Promise<void> {
    const path = this.filePath(epoch, batch, logs);
    if (this.saveBestOnly) {
      const current = logs[this.monitor];
      if (current === undefined) {
        if (!this.warned) console.warn(`Can save best model only with ${this.monitor} available, skipping.`);
        this.warned = true;
        return;
      }
      if (!(this.mode === 'min' ? current < this.best : current > this.best)) {
        if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${this.best.toFixed(5)}`);
        return;
      }
      if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: ${this.monitor} improved from ${this.best.toFixed(5)} to ${current.toFixed(5)}, saving model to ${path}`);
      await this.write(path);
      this.best = current; // only once the file is safely written
      return;
    }
    if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: saving model to ${path}`);
    await this.write(path);
  }

  private async write(path: string): Promise<void> {
    const model = requireModel(this, 'ModelCheckpoint');
    await this.control?.syncWeights();
    const { dirname } = await import('node:path');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dirname(path), { recursive: true }); // as Keras, create the folder
    await this.writer(model, path);
  }
}
