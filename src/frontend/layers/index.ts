/**
 * Keras layers. Each is a class that can be called with or without `new`:
 * `layers.Dense(128, { activation: 'relu' })`, `new layers.Dense({ units: 128 })`.
 */
import { callableClass } from './callable.js';
import { Layer as LayerClass } from '../layer.js';
import { InputLayer as InputLayerClass } from '../input.js';
import * as core from './core.js';
import * as shape from './shape.js';
import * as merge from './merge.js';
import * as embedding from './embedding.js';
import * as conv from './conv.js';
import * as pooling from './pooling.js';
import * as padding from './padding.js';
import * as normalization from './normalization.js';
import * as recurrent from './recurrent.js';
import * as wrappers from './wrappers.js';
import * as masking from './masking.js';
import * as layerNormalization from './layer-normalization.js';
import * as attention from './attention.js';

export { callableClass };
/** The base class for custom layers: `class Scale extends layers.Layer { build(); call() }`. */
export const Layer = LayerClass;
export const InputLayer = callableClass(InputLayerClass);
export const Dense = callableClass(core.Dense);
export const Activation = callableClass(core.Activation);
export const Dropout = callableClass(core.Dropout);
export const Flatten = callableClass(shape.Flatten);
export const Reshape = callableClass(shape.Reshape);
export const Permute = callableClass(shape.Permute);
export const Add = callableClass(merge.Add);
export const Subtract = callableClass(merge.Subtract);
export const Multiply = callableClass(merge.Multiply);
export const Average = callableClass(merge.Average);
export const Maximum = callableClass(merge.Maximum);
export const Minimum = callableClass(merge.Minimum);
export const Concatenate = callableClass(merge.Concatenate);
export const Embedding = callableClass(embedding.Embedding);
export const Conv2D = callableClass(conv.Conv2D);
export const DepthwiseConv2D = callableClass(conv.DepthwiseConv2D);
export const MaxPooling2D = callableClass(pooling.MaxPooling2D);
export const AveragePooling2D = callableClass(pooling.AveragePooling2D);
export const GlobalAveragePooling2D = callableClass(pooling.GlobalAveragePooling2D);
export const GlobalMaxPooling2D = callableClass(pooling.GlobalMaxPooling2D);
export const ZeroPadding2D = callableClass(padding.ZeroPadding2D);
export const BatchNormalization = callableClass(normalization.BatchNormalization);
export const SimpleRNN = callableClass(recurrent.SimpleRNN);
export const LSTM = callableClass(recurrent.LSTM);
export const GRU = callableClass(recurrent.GRU);
export const Bidirectional = callableClass(wrappers.Bidirectional);
export const TimeDistributed = callableClass(wrappers.TimeDistributed);
export const Masking = callableClass(masking.Masking);
export const LayerNormalization = callableClass(layerNormalization.LayerNormalization);
export const MultiHeadAttention = callableClass(attention.MultiHeadAttention);

/** Every layer class by its Keras class name, for configs and loaders. */
export const LAYER_CLASSES: Record<string, new (config: never) => LayerClass> = Object.fromEntries(
  [InputLayerClass, core.Dense, core.Activation, core.Dropout, shape.Flatten, shape.Reshape, shape.Permute, merge.Add, merge.Subtract,
    merge.Multiply, merge.Average, merge.Maximum, merge.Minimum, merge.Concatenate, embedding.Embedding, conv.Conv2D, conv.DepthwiseConv2D,
    pooling.MaxPooling2D, pooling.AveragePooling2D, pooling.GlobalAveragePooling2D, pooling.GlobalMaxPooling2D, padding.ZeroPadding2D,
    normalization.BatchNormalization, recurrent.SimpleRNN, recurrent.LSTM, recurrent.GRU, wrappers.Bidirectional, wrappers.TimeDistributed,
    masking.Masking].map((c) => [c.className, c as never]),
);
for (const c of [layerNormalization.LayerNormalization, attention.MultiHeadAttention]) LAYER_CLASSES[c.className] = c as never;
