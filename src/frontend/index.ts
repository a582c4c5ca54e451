/** The Keras API of kiln. */
export * as layers from './layers/index.js';
export * as ops from './ops.js';
export * as initializers from './initializers.js';
export * as regularizers from './regularizers.js';
export * as constraints from './constraints.js';
export * as activations from './activations.js';
export * as losses from './losses.js';
export * as metrics from './metrics.js';
export * as optimizers from './optimizers.js';
export { Input, InputLayer, type InputArgs } from './input.js';
export { Layer, type LayerArgs, type CallArgs, type LayerCall, type Shape, type InputSpec, type Update } from './layer.js';
export { Model, type ModelArgs } from './model.js';
export { Sequential, type SequentialArgs } from './sequential.js';
export { SymbolicTensor } from './symbolic.js';
export { LayerVariable } from './variables.js';
export { nameScope, deviceScope, clearSession } from './scopes.js';
export { learningPhase } from './tensors.js';
export { interpretModel, type ModelRunOptions } from './run.js';
