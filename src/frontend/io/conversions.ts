/**
 * Weight conversions Keras users need for old models: kernels trained with Theano, which convolves
 * (flips the window) where TensorFlow correlates. Keras's `convert_all_kernels_in_model` flips every
 * convolution kernel over its spatial axes; kiln does the same for its convolution layers.
 */
import { ModelError } from '../../ir/errors.js';
import type { Layer } from '../layer.js';
import { weightLayers, localWeightName } from './weights-match.js';

/** Convolution layers and their kernel weight, spatial axes first (HWIO / HW-in-multiplier). */
const CONV_KERNELS: Record<string, string> = { Conv1D: 'kernel', Conv2D: 'kernel', Conv3D: 'kernel', Conv2DTranspose: 'kernel', DepthwiseConv2D: 'depthwise_kernel' };

/** Flips a kernel stored row-major with shape [...spatial, in, out] over every spatial axis (Keras's convert_kernel). */
export function flipKernel(value: Float32Array, shape: readonly number[]): Float32Array {
  const spatial = shape.slice(0, -2);
  const inner = shape.slice(-2).reduce((a, b) => a * b, 1);
  const out = new Float32Array(value.length);
  const count = spatial.reduce((a, b) => a * b, 1);
  for (let s = 0; s < count; s++) {
    // Position s in the spatial grid, mirrored on every axis.
    let rest = s, mirrored = 0, stride = 1;
    for (let a = spatial.length - 1; a >= 0; a--) {
      const i = rest % spatial[a];
      rest = Math.floor(rest / spatial[a]);
      mirrored += (spatial[a] - 1 - i) * stride;
      stride *= spatial[a];
    }
    out.set(value.subarray(mirrored * inner, (mirrored + 1) * inner), s * inner);
  }
  return out;
}

/**
 * Converts the convolution kernels of a model in place, as Keras's `convert_all_kernels_in_model`:
 * `from = 'theano'` flips them spatially (the same flip converts back). Returns the layers changed.
 */
export function convertKernels(model: Layer, from: 'theano' | 'tensorflow'): string[] {
  if (from !== 'theano' && from !== 'tensorflow') throw new ModelError(`convertKernels: 'from' must be 'theano' or 'tensorflow', got ${JSON.stringify(from)}`);
  const changed: string[] = [];
  for (const layer of weightLayers(model)) {
    const weight = CONV_KERNELS[layer.getClassName()];
    if (!weight) continue;
    const v = layer.weights.find((w) => localWeightName(layer, w) === weight);
    if (!v) continue;
    v.write(flipKernel(v.read(), v.shape));
    changed.push(layer.name);
  }
  return changed;
}
