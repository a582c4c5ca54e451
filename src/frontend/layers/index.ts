/**
 * Keras layers. Each is a class that can be called with or without `new`:
 * `layers.Dense(128, { activation: 'relu' })`, `new layers.Dense({ units: 128 })`.
 */
import { callableClass } from './callable.js';
import { Layer as LayerClass } from '../layer.js';
import * as core from './core.js';
import { InputLayer as InputLayerClass } from '../input.js';

export { callableClass };
/** The base class for custom layers: `class Scale extends layers.Layer { build(); call() }`. */
export const Layer = LayerClass;
export const InputLayer = callableClass(InputLayerClass);
export const Dense = callableClass(core.Dense);
export const Activation = callableClass(core.Activation);
export const Dropout = callableClass(core.Dropout);
