/** ZeroPadding2D: zero rows and columns around an NHWC image, through the IR `pad` op. */
import { ModelError } from '../../ir/errors.js';
import { Layer, type LayerArgs } from '../layer.js';
import * as ops from '../ops.js';
import type { SymbolicTensor } from '../symbolic.js';
import { checkDataFormat, expectImage, intPair, type DataFormat } from './conv.js';

/** Padding as Keras takes it: n on every side, [h, w] symmetric, or [[top, bottom], [left, right]]. */
export type Padding2D = number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]] | readonly (number | readonly number[])[];

/** Options of ZeroPadding2D. */
export interface ZeroPadding2DArgs extends LayerArgs {
  /** 1 by default. */
  padding?: Padding2D;
  dataFormat?: DataFormat;
}

/** Normalizes any Keras padding form to [[top, bottom], [left, right]] of non-negative ints. */
export function padding2d(value: Padding2D): [[number, number], [number, number]] {
  if (Array.isArray(value) && value.length === 2 && value.every((v) => Array.isArray(v))) {
    const [h, w] = (value as readonly (readonly number[])[]).map((v, i) => intPair(`padding[${i}] ([${i === 0 ? 'top, bottom' : 'left, right'}])`, v, 0));
    return [h, w];
  }
  if (Array.isArray(value) && value.some((v) => Array.isArray(v))) {
    throw new ModelError(`padding must be an integer, [height, width] or [[top, bottom], [left, right]], got ${JSON.stringify(value)}`);
  }
  const [h, w] = intPair('padding', value as number | readonly number[], 0);
  return [[h, h], [w, w]];
}

/** Adds zero rows (top, bottom) and columns (left, right) to each image: (b, h, w, c) → (b, h+t+b, w+l+r, c). */
export class ZeroPadding2D extends Layer {
  static override className = 'ZeroPadding2D';
  readonly padding: [[number, number], [number, number]];

  /** `ZeroPadding2D(1)`, `ZeroPadding2D([1, 2])`, `ZeroPadding2D([[1, 0], [2, 1]])` or `ZeroPadding2D({padding})`. */
  constructor(padding?: Padding2D | ZeroPadding2DArgs, args: ZeroPadding2DArgs = {}) {
    const a: ZeroPadding2DArgs = typeof padding === 'object' && !Array.isArray(padding) ? (padding as ZeroPadding2DArgs) : { ...args, padding: padding as Padding2D | undefined };
    super(a);
    this.padding = this.inContext(() => {
      checkDataFormat(a.dataFormat);
      return padding2d(a.padding ?? 1);
    });
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    expectImage(x.shape);
    return ops.pad(x, [[0, 0], ...this.padding, [0, 0]]);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), padding: this.padding, dataFormat: 'channelsLast' };
  }
}
