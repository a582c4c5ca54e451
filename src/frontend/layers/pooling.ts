/**
 * 2-d pooling layers (NHWC): windowed MaxPooling2D / AveragePooling2D, and the global poolings
 * that reduce height and width. One base class per family; the subclasses only name their op.
 */
import { ModelError } from '../../ir/errors.js';
import { Layer, type LayerArgs } from '../layer.js';
import * as ops from '../ops.js';
import { emit, type SymbolicTensor } from '../symbolic.js';
import { checkDataFormat, expectImage, expectWindowFits, intPair, paddingMode, type DataFormat, type IntOrPair, type PaddingMode } from './conv.js';

/** Options of the windowed 2-d poolings. */
export interface Pooling2DArgs extends LayerArgs {
  /** Window size; 2 by default. */
  poolSize?: IntOrPair;
  /** Step of the window; poolSize by default. */
  strides?: IntOrPair | null;
  padding?: PaddingMode;
  dataFormat?: DataFormat;
}

/** Windowed 2-d pooling with TF padding semantics; subclasses choose the IR op. */
export abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: PaddingMode;
  /** The IR op that pools. */
  protected abstract readonly op: 'maxPool2d' | 'avgPool2d';

  /** `MaxPooling2D(2)`, `MaxPooling2D([2, 3], {strides: 1})` or `MaxPooling2D({poolSize: 2, padding: 'same'})`. */
  constructor(poolSize?: IntOrPair | Pooling2DArgs, args: Pooling2DArgs = {}) {
    const a: Pooling2DArgs = typeof poolSize === 'object' && !Array.isArray(poolSize) ? (poolSize as Pooling2DArgs) : { ...args, poolSize: poolSize as IntOrPair | undefined };
    super(a);
    const o = this.inContext(() => {
      checkDataFormat(a.dataFormat);
      const size = intPair('poolSize', a.poolSize ?? 2);
      return { size, strides: a.strides === undefined || a.strides === null ? size : intPair('strides', a.strides), padding: paddingMode(a.padding) };
    });
    this.poolSize = o.size;
    this.strides = o.strides;
    this.padding = o.padding;
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    expectImage(x.shape);
    expectWindowFits(x.shape, 'pool window', this.poolSize, [1, 1], this.padding);
    return emit(this.op, [x], { poolSize: this.poolSize, strides: this.strides, padding: this.padding })[0];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, padding: this.padding, strides: this.strides, dataFormat: 'channelsLast' };
  }
}

/** Maximum over each window. */
export class MaxPooling2D extends Pooling2D {
  static override className = 'MaxPooling2D';
  protected readonly op = 'maxPool2d';
}

/** Mean over each window, counting only real (unpadded) elements, as TF does. */
export class AveragePooling2D extends Pooling2D {
  static override className = 'AveragePooling2D';
  protected readonly op = 'avgPool2d';
}

/** Options of the global 2-d poolings. */
export interface GlobalPooling2DArgs extends LayerArgs {
  dataFormat?: DataFormat;
  /** Keep height and width as size-1 axes (Keras 2.6+); false by default. */
  keepdims?: boolean;
}

/** Reduction over height and width: (batch, h, w, c) → (batch, c), or (batch, 1, 1, c) with keepdims. */
export abstract class GlobalPooling2D extends Layer {
  readonly keepdims: boolean;
  /** The reduction (ops.mean or ops.max). */
  protected abstract readonly reduce: (x: SymbolicTensor, axes: number[], keepDims: boolean) => SymbolicTensor;

  constructor(args: GlobalPooling2DArgs = {}) {
    super(args);
    this.inContext(() => {
      checkDataFormat(args.dataFormat);
      if (args.keepdims !== undefined && typeof args.keepdims !== 'boolean') throw new ModelError(`keepdims must be a boolean, got ${JSON.stringify(args.keepdims)}`);
    });
    this.keepdims = args.keepdims ?? false;
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    expectImage(x.shape);
    return this.reduce(x, [1, 2], this.keepdims);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dataFormat: 'channelsLast', keepdims: this.keepdims };
  }
}

/** Mean over height and width. */
export class GlobalAveragePooling2D extends GlobalPooling2D {
  static override className = 'GlobalAveragePooling2D';
  protected readonly reduce = ops.mean;
}

/** Maximum over height and width. */
export class GlobalMaxPooling2D extends GlobalPooling2D {
  static override className = 'GlobalMaxPooling2D';
  protected readonly reduce = ops.max;
}
