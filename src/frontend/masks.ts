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
