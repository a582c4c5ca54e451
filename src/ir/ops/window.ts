import type { AttrSpec } from '../registry.js';
/** TF 'same'/'valid' window arithmetic shared by convolution and pooling (NHWC, two spatial dims). */
import type { Attrs, Dim } from '../types.js';
import { formatShape } from '../errors.js';
import { attrEnum, attrInts, fail } from './common.js';

/** TF padding modes. */
export type Padding = 'same' | 'valid';
/** The padding values, for attr schemas. */
export const PADDINGS: readonly Padding[] = ['same', 'valid'];

/** The attributes every convolution and its gradients share (TF defaults). */
export const CONV_WINDOW_ATTRS = {
  strides: { kind: 'ints', default: [1, 1] },
  padding: { kind: 'string', default: 'valid', oneOf: PADDINGS },
  dilations: { kind: 'ints', default: [1, 1] },
} as const satisfies Record<string, AttrSpec>;

/** Geometry of a 2-d window op over an NHWC input. */
export interface Window2d {
  readonly kernel: readonly [Dim, Dim];
  readonly strides: readonly [number, number];
  readonly dilations: readonly [number, number];
  readonly padding: Padding;
}

/**
 * Output size of one spatial dim. 'same': ceil(in/stride). 'valid': ceil((in − (k−1)·d) / stride),
 * i.e. windows that fit entirely. Null when the input or kernel size is unknown.
 */
export function outputDim(size: Dim, k: Dim, stride: number, dilation: number, padding: Padding): Dim {
  if (size === null) return null;
  if (padding === 'same') return Math.ceil(size / stride);
  if (k === null) return null;
  return Math.ceil((size - (k - 1) * dilation) / stride);
}

/** Padding before the first element: 'same' pads max((out−1)·s + (k−1)·d + 1 − in, 0) in total, the smaller half before. */
export function padBefore(size: number, k: number, stride: number, dilation: number, padding: Padding): number {
  if (padding === 'valid') return 0;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0);
  return Math.floor(total / 2);
}

/** Reads a pair of positive ints (strides, dilations, poolSize). */
export function attrPair(op: string, attrs: Attrs, key: string): [number, number] {
  const v = attrInts(op, attrs, key);
  if (v.length !== 2 || v.some((x) => x < 1)) fail(op, `${key} must be two integers ≥ 1, got [${v.join(', ')}]`, { [key]: v });
  return [v[0], v[1]];
}

/** Reads the padding attr. */
export function attrPadding(op: string, attrs: Attrs): Padding {
  return attrEnum(op, attrs, 'padding', PADDINGS);
}

/** Spatial output dims [oh, ow] of an NHWC input; a window that does not fit is a ShapeError naming both. */
export function spatialOutput(op: string, x: readonly Dim[], win: Window2d): [Dim, Dim] {
  const out = [0, 1].map((i) => outputDim(x[1 + i], win.kernel[i], win.strides[i], win.dilations[i], win.padding)) as [Dim, Dim];
  if (out.some((d) => d !== null && d < 1)) {
    const eff = win.kernel.map((k, i) => (k === null ? null : (k - 1) * win.dilations[i] + 1));
    fail(op, `input ${formatShape(x)} is smaller than the window ${formatShape(eff)} (dilated) with padding '${win.padding}'`, { x, kernel: win.kernel });
  }
  return out;
}

/** Concrete geometry for a reference loop: output size and leading pad per spatial dim. */
export function concreteWindow(x: readonly number[], win: Window2d): { oh: number; ow: number; top: number; left: number } {
  const [kh, kw] = win.kernel as [number, number];
  const [sh, sw] = win.strides;
  const [dh, dw] = win.dilations;
  return {
    oh: outputDim(x[1], kh, sh, dh, win.padding) as number,
    ow: outputDim(x[2], kw, sw, dw, win.padding) as number,
    top: padBefore(x[1], kh, sh, dh, win.padding),
    left: padBefore(x[2], kw, sw, dw, win.padding),
  };
}
