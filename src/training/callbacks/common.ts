import { KilnError } from '../../ir/errors.js';
import type { Model } from '../../frontend/model.js';
import type { Callback, Logs, TrainingControl } from './base.js';

/** A callback used wrongly (bad option, a file path naming a metric the logs lack, no model or loop). */
export class CallbackError extends KilnError {}

/** Which way a monitored quantity improves: Keras's `mode`. */
export type Mode = 'auto' | 'min' | 'max';

/**
 * Resolves Keras's `mode`: 'auto' means 'max' for accuracy-like names (containing 'acc' or 'auc')
 * and 'min' for everything else (losses, errors). An unknown mode warns and falls back to 'auto', as Keras.
 */
export function resolveMode(monitor: string, mode: string, who: string): 'min' | 'max' {
  if (mode !== 'auto' && mode !== 'min' && mode !== 'max') {
    console.warn(`${who} mode ${mode} is unknown, fallback to auto mode.`);
    mode = 'auto';
  }
  if (mode !== 'auto') return mode as 'min' | 'max';
  return /acc|auc/.test(monitor) ? 'max' : 'min';
}

/** The monitored value from logs, or undefined after warning (once per callback) that it is missing. */
export class MonitorReader {
  private warned = false;
  constructor(readonly monitor: string, private readonly what: string) {}

  read(logs: Logs | undefined): number | undefined {
    const value = logs?.[this.monitor];
    if (value === undefined || value === null) {
      if (!this.warned) {
        this.warned = true;
        console.warn(`${this.what} conditioned on metric \`${this.monitor}\` which is not available. Available metrics are: ${Object.keys(logs ?? {}).join(',')}`);
      }
      return undefined;
    }
    return value;
  }
}

/** The loop's control object, or a CallbackError saying the callback runs outside fit. */
export function requireControl(cb: Callback, who: string): TrainingControl {
  if (!cb.control) throw new CallbackError(`${who} needs the training loop's control (stop, learning rate): run it inside fit, or call setControl first`);
  return cb.control;
}

/** The model the callback is attached to, or a CallbackError. */
export function requireModel(cb: Callback, who: string): Model {
  if (!cb.model) throw new CallbackError(`${who} needs a model: run it inside fit, or call setModel first`);
  return cb.model;
}
