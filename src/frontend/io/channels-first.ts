/**
 * channels_first models, converted to kiln's NHWC layout while they are built. A tensor that Keras
 * holds as (batch, channels, height, width) is held by kiln as (batch, height, width, channels) and
 * marked; each layer's config is rewritten for the layout its inputs really have:
 * - image layers with data_format channels_first become channels_last (Keras keeps conv kernels HWIO
 *   in both formats, so weights need no change);
 * - BatchNormalization over axis 1 and Concatenate along axis 1 move to the last axis;
 * - Flatten with data_format channels_first already flattens in (h, w, c) order, as it does on NHWC;
 *   a channels_last Flatten of a channels_first tensor (c, h, w order) gets a Permute in front;
 * - elementwise layers pass the layout through; any other layer fed a converted tensor is an error.
 * Inputs of rank 4 are taken as channels_first images and become NHWC inputs: callers feed NHWC.
 */
import { Layer } from '../layer.js';
import { Permute } from '../layers/shape.js';
import type { SymbolicTensor } from '../symbolic.js';
import { LayerConfigError } from './errors.js';
import type { Json } from './pythonic.js';

const CHANNELS_FIRST = new Set(['channelsFirst', 'channels_first']);
/** Layers whose output keeps their input's layout whatever it is. */
const LAYOUT_AGNOSTIC = new Set(['Activation', 'Dropout', 'Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'GaussianNoise', 'GaussianDropout', 'SpatialDropout2D']);

/** Whether any layer of a (Python-spelled) config uses data_format channels_first. */
export function usesChannelsFirst(config: Json): boolean {
  if (Array.isArray(config)) return config.some(usesChannelsFirst);
  if (config === null || typeof config !== 'object') return false;
  return Object.entries(config).some(([k, v]) => ((k === 'data_format' || k === 'dataFormat') && typeof v === 'string' && CHANNELS_FIRST.has(v)) || usesChannelsFirst(v));
}

/** (batch, c, h, w) → (batch, h, w, c). */
export function nhwcShape<T>(shape: readonly T[]): T[] {
  return shape.length === 4 ? [shape[0], shape[2], shape[3], shape[1]] : [...shape];
}

/** How one layer is built and called in a converted model. */
export interface LayoutPlan {
  readonly config: Record<string, unknown>;
  /** Transposes NHWC back to NCHW before the layer (a channels_last Flatten of a converted tensor). */
  readonly permuteFirst: boolean;
  /** Whether the layer's outputs are converted (NCHW held as NHWC). */
  readonly outputConverted: boolean;
}

/** Tracks which tensors of a model being built are converted channels_first tensors. */
export class LayoutTracker {
  private readonly converted = new WeakSet<SymbolicTensor>();
  /** Nested models' outputs that are converted, by model. */
  readonly modelOutputs = new WeakMap<Layer, boolean[]>();

  constructor(readonly active: boolean) {}

  mark(t: SymbolicTensor, converted: boolean): void {
    if (converted && t.rank === 4) this.converted.add(t);
  }
  isConverted(t: SymbolicTensor): boolean {
    return this.converted.has(t);
  }

  /** The plan for a layer's first call on `inputs`. */
  plan(className: string, name: string, config: Record<string, unknown>, inputs: readonly SymbolicTensor[], where: string): LayoutPlan {
    const anyIn = inputs.some((t) => this.isConverted(t));
    const cfg = { ...config };
    const ownFormat = typeof cfg.dataFormat === 'string' && CHANNELS_FIRST.has(cfg.dataFormat);
    if (className === 'Flatten') {
      cfg.dataFormat = 'channelsLast';
      return { config: cfg, permuteFirst: anyIn && !ownFormat, outputConverted: false };
    }
    if (ownFormat) {
      cfg.dataFormat = 'channelsLast';
      return { config: cfg, permuteFirst: false, outputConverted: true };
    }
    if (!anyIn) return { config: cfg, permuteFirst: false, outputConverted: false };
    if (className === 'BatchNormalization' || className === 'Concatenate') {
      const axis = (cfg.axis ?? (className === 'Concatenate' ? -1 : -1)) as number;
      if (axis === 1 || axis === -3) cfg.axis = -1;
      else if (axis === -1 || axis === 3) throw this.cannot(className, name, `its axis ${axis} is the width axis of a channels_first tensor, which kiln cannot keep in NHWC`, where);
      return { config: cfg, permuteFirst: false, outputConverted: true };
    }
    if (LAYOUT_AGNOSTIC.has(className)) return { config: cfg, permuteFirst: false, outputConverted: true };
    throw this.cannot(className, name, 'kiln converts channels_first models to NHWC and does not know how this layer reads the channel axis', where);
  }

  /** The Permute that turns a converted tensor back into NCHW order. */
  static toNchw(name: string): Layer {
    return new Permute({ dims: [3, 1, 2], name: `${name}_nchw` });
  }

  private cannot(className: string, name: string, why: string, where: string): LayerConfigError {
    return new LayerConfigError(`${where}layer '${name}' (${className}) is fed a channels_first tensor: ${why}`, { layer: name, className });
  }
}
