/** Training: compile/fit/evaluate/predict on models (attached to Model), callbacks, weight files. */
import './fit.js';
import './weights-file.js';
export { useTrainingDevice, compileModel, fitModel, evaluateModel, predictModel, trainOnBatchModel, disposeModel, NaNLossError, type FitArgs } from './fit.js';
export { type CompileArgs } from './config.js';
export { TrainingSession, trainingProgram } from './session.js';
export { ArenaTooLargeError, type MicroBatch } from './micro-batch.js';
export * as callbacks from './callbacks/index.js';
export { Callback, type Logs, type TrainingParams, type TrainingControl } from './callbacks/base.js';
export { saveWeights, loadWeights } from './weights-file.js';
export { trainStep, TrainStep, trainStepObjective, trainStepProgram, type TrainStepArgs, type TrainStepRunOptions, type TrainStepObjective, type BatchInputSpec } from './train-step.js';
