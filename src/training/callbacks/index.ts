/**
 * Keras callbacks for fit. Each is a class that can also be called without `new`, Keras/TF.js style:
 * `callbacks.EarlyStopping({ patience: 3 })` or `new callbacks.EarlyStopping({ patience: 3 })`.
 */
import { callableClass } from '../../frontend/layers/callable.js';
import { Callback } from './base.js';
import { History as HistoryClass } from './history.js';
import { ProgbarLogger as ProgbarLoggerClass } from './progbar.js';
import { EarlyStopping as EarlyStoppingClass } from './early-stopping.js';
import { ReduceLROnPlateau as ReduceLROnPlateauClass } from './reduce-lr.js';
import { LearningRateScheduler as LearningRateSchedulerClass } from './learning-rate-scheduler.js';
import { CSVLogger as CSVLoggerClass } from './csv-logger.js';
import { TerminateOnNaN as TerminateOnNaNClass } from './terminate-on-nan.js';
import { ModelCheckpoint as ModelCheckpointClass } from './model-checkpoint.js';

export { Callback, callAll, type Logs, type TrainingParams, type TrainingControl } from './base.js';
export { CallbackError, type Mode } from './common.js';
export type { ProgbarSink, ProgbarLoggerArgs } from './progbar.js';
export type { EarlyStoppingArgs } from './early-stopping.js';
export type { ReduceLROnPlateauArgs } from './reduce-lr.js';
export type { Schedule } from './learning-rate-scheduler.js';
export type { CSVLoggerArgs } from './csv-logger.js';
export type { ModelCheckpointArgs } from './model-checkpoint.js';

/** Records each epoch's logs (what fit returns). */
export const History = callableClass(HistoryClass);
/** Keras's progress bar for fit (verbose 1 and 2). */
export const ProgbarLogger = callableClass(ProgbarLoggerClass);
/** Stops training when a monitored quantity stops improving. */
export const EarlyStopping = callableClass(EarlyStoppingClass);
/** Reduces the learning rate when a monitored quantity stops improving. */
export const ReduceLROnPlateau = callableClass(ReduceLROnPlateauClass);
/** Sets the learning rate at each epoch from a schedule. */
export const LearningRateScheduler = callableClass(LearningRateSchedulerClass);
/** Streams epoch logs to a CSV file. */
export const CSVLogger = callableClass(CSVLoggerClass);
/** Stops training on a NaN or infinite loss. */
export const TerminateOnNaN = callableClass(TerminateOnNaNClass);
/** Saves the model's weights during training. */
export const ModelCheckpoint = callableClass(ModelCheckpointClass);

export type History = HistoryClass;
export type ProgbarLogger = ProgbarLoggerClass;
export type EarlyStopping = EarlyStoppingClass;
export type ReduceLROnPlateau = ReduceLROnPlateauClass;
export type LearningRateScheduler = LearningRateSchedulerClass;
export type CSVLogger = CSVLoggerClass;
export type TerminateOnNaN = TerminateOnNaNClass;
export type ModelCheckpoint = ModelCheckpointClass;

/** TF.js's lower-case factory: `tf.callbacks.earlyStopping({ patience: 3 })`. */
export const earlyStopping = (args?: ConstructorParameters<typeof EarlyStoppingClass>[0]) => new EarlyStoppingClass(args);

/**
 * The callback list fit runs, as Keras builds it: the user's callbacks, then a History and (verbose > 0) a
 * ProgbarLogger unless the user passed their own. They come last so they see what earlier callbacks add to
 * the epoch's logs (`learning_rate`). The loop passes one logs object to every callback in turn.
 */
export function withDefaultCallbacks(user: readonly Callback[], verbose: 0 | 1 | 2): { callbacks: Callback[]; history: HistoryClass } {
  const callbacks = [...user];
  let history = callbacks.find((c): c is HistoryClass => c instanceof HistoryClass);
  if (!history) callbacks.push((history = new HistoryClass()));
  if (verbose > 0 && !callbacks.some((c) => c instanceof ProgbarLoggerClass)) callbacks.push(new ProgbarLoggerClass());
  return { callbacks, history };
}
