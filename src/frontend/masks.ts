/**
 * Keras masks, kept minimal: a symbolic tensor may carry a bool mask [batch, time] saying which time
 * steps are real (Embedding with maskZero, Masking); recurrent layers and wrappers read it.
 */
import type { SymbolicTensor } from './symbolic.js';

const masks = new WeakMap<SymbolicTensor, SymbolicTensor>();

/** The mask a tensor carries (Keras's `_keras_mask`), if any. */
export function maskOf(t: SymbolicTensor): SymbolicTensor | undefined {
  return masks.get(t);
}

/** Attaches a mask to a tensor; returns the tensor. */
export function withMask(t: SymbolicTensor, mask: SymbolicTensor | undefined): SymbolicTensor {
  if (mask) masks.set(t, mask);
  return t;
}

/** Layers that pass their input's mask on unchanged (TF.js's `supportsMasking` with the default computeMask). */
const PASSES_MASK = new Set(['Dropout', 'Activation', 'BatchNormalization', 'LayerNormalization', 'ReLU', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

/**
 * The mask an output of a layer call carries: the one its call attached, else, for layers that pass
 * masks on, the mask of the single input. Other layers drop it (TF.js would refuse the mask instead).
 */
export function outputMask(className: string, raw: SymbolicTensor, inputs: readonly SymbolicTensor[]): SymbolicTensor | undefined {
  return maskOf(raw) ?? (inputs.length === 1 && PASSES_MASK.has(className) ? maskOf(inputs[0]) : undefined);
}
