/**
 * 2-d convolution layers (NHWC): Conv2D and DepthwiseConv2D, plus the option helpers that the
 * pooling and padding layers share (int-or-pair, padding mode, data format, rank-4 input checks).
 */
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type LayerArgs, type Shape } from '../layer.js';
import { getActivation, type ActivationIdentifier } from '../activations.js';
import { getInitializer, type InitializerIdentifier } from '../initializers.js';
import { getRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import * as ops from '../ops.js';
import { emit, type SymbolicTensor } from '../symbolic.js';
import type { LayerVariable } from '../variables.js';
import { activationConfig, initializerConfig, regularizerConfig } from './core.js';

/** A size given as one int for both spatial dims, or as [height, width]. */
export type IntOrPair = number | readonly [number, number] | readonly number[];
/** TF padding modes of windowed layers. */
export type PaddingMode = 'valid' | 'same';
/** Keras data formats; kiln compiles channelsLast (NHWC) only. */
export type DataFormat = 'channelsLast' | 'channelsFirst' | 'channels_last' | 'channels_first';

/** Normalizes an int-or-pair option to [h, w] of integers ≥ `min`; a ModelError names the option. */
export function intPair(option: string, value: IntOrPair, min = 1): [number, number] {
  const pair = typeof value === 'number' ? [value, value] : Array.isArray(value) ? [...value] : [];
  if (pair.length !== 2 || pair.some((v) => !Number.isInteger(v) || v < min)) {
    throw new ModelError(`${option} must be an integer ≥ ${min} or a pair [height, width] of them, got ${JSON.stringify(value)}`, { option });
  }
  return pair as [number, number];
}

/** Checks a padding mode ('valid' or 'same'). */
export function paddingMode(value: unknown = 'valid'): PaddingMode {
  if (value !== 'valid' && value !== 'same') throw new ModelError(`padding must be 'valid' or 'same', got ${JSON.stringify(value)}`);
  return value;
}

/** Accepts channelsLast only: channelsFirst models are converted to NHWC by the loader. */
export function checkDataFormat(value: DataFormat | undefined): void {
  if (value === undefined || value === null || value === 'channelsLast' || value === 'channels_last') return;
  if (value === 'channelsFirst' || value === 'channels_first') {
    throw new ModelError(`dataFormat 'channelsFirst' is not supported: kiln compiles NHWC (channelsLast); the model loader converts channelsFirst models and weights`);
  }
  throw new ModelError(`dataFormat must be 'channelsLast', got ${JSON.stringify(value)}`);
}

/** Checks that a shape is an image batch (batch, height, width, channels). */
export function expectImage(shape: Shape): void {
  if (shape.length !== 4) throw new ShapeError(`expected input of rank 4 (batch, height, width, channels), got shape ${formatShape(shape)}`, { shape });
}

/** Checks that a window fits the spatial dims of an NHWC shape under 'valid' padding ('same' always fits). */
export function expectWindowFits(shape: Shape, what: string, window: [number, number], dilation: [number, number], padding: PaddingMode): void {
  if (padding === 'same') return;
  const extent = window.map((k, i) => (k - 1) * dilation[i] + 1);
  if (extent.some((e, i) => shape[1 + i] !== null && e > (shape[1 + i] as number))) {
    const dilated = dilation.some((d) => d > 1) ? ` (${formatShape(extent)} dilated by ${formatShape(dilation)})` : '';
    throw new ShapeError(`${what} ${formatShape(window)}${dilated} is larger than the input ${formatShape(shape)} with padding 'valid'; use padding 'same' or a smaller ${what}`, { shape, window });
  }
}

/** Options shared by the 2-d convolutions (Keras names in camelCase). */
export interface BaseConv2DArgs extends LayerArgs {
  kernelSize?: IntOrPair;
  strides?: IntOrPair;
  padding?: PaddingMode;
  dataFormat?: DataFormat;
  dilationRate?: IntOrPair;
  activation?: ActivationIdentifier;
  useBias?: boolean;
  biasInitializer?: InitializerIdentifier;
  biasRegularizer?: RegularizerIdentifier;
}

/** The common part of Conv2D and DepthwiseConv2D: window options, `op(x, kernel) + bias`, activation. */
export abstract class BaseConv2D extends Layer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: PaddingMode;
  readonly dilationRate: [number, number];
  readonly activation: ActivationIdentifier;
  readonly useBias: boolean;
  kernel?: LayerVariable;
  bias?: LayerVariable;
  protected readonly biasInitializer: InitializerIdentifier;
  protected readonly biasRegularizer: Regularizer | null;
  /** The IR op of the convolution. */
  protected abstract readonly op: 'conv2d' | 'depthwiseConv2d';

  constructor(a: BaseConv2DArgs) {
    super(a);
    const o = this.inContext(() => {
      checkDataFormat(a.dataFormat);
      if (a.kernelSize === undefined) throw new ModelError('kernelSize is required');
      const strides = intPair('strides', a.strides ?? 1);
      const dilationRate = intPair('dilationRate', a.dilationRate ?? 1);
      if (strides.some((s) => s > 1) && dilationRate.some((d) => d > 1)) {
        throw new ModelError(`strides > 1 is not supported together with dilationRate > 1 (Keras rule), got strides ${formatShape(strides)} and dilationRate ${formatShape(dilationRate)}`);
      }
      getActivation(a.activation);
      getInitializer(a.biasInitializer ?? 'zeros');
      return { kernelSize: intPair('kernelSize', a.kernelSize), strides, dilationRate, padding: paddingMode(a.padding), biasRegularizer: getRegularizer(a.biasRegularizer) };
    });
    this.kernelSize = o.kernelSize;
    this.strides = o.strides;
    this.dilationRate = o.dilationRate;
    this.padding = o.padding;
    this.activation = a.activation ?? 'linear';
    this.useBias = a.useBias ?? true;
    this.biasInitializer = a.biasInitializer ?? 'zeros';
    this.biasRegularizer = o.biasRegularizer;
  }

  /** Kernel weight name, shape, initializer and regularizer for `cin` input channels, and the output channels. */
  protected abstract kernelSpec(cin: number): { name: string; shape: number[]; initializer: InitializerIdentifier; regularizer: Regularizer | null; cout: number };

  override build(inputShape: Shape): void {
    this.checkInput(inputShape);
    const cin = inputShape[3];
    if (cin === null) throw new ShapeError(`the channel axis of the input must be known, got ${formatShape(inputShape)}`);
    const spec = this.kernelSpec(cin);
    this.kernel = this.addWeight(spec.name, spec.shape, spec.initializer, { regularizer: spec.regularizer });
    if (this.useBias) this.bias = this.addWeight('bias', [spec.cout], this.biasInitializer, { regularizer: this.biasRegularizer });
    this.inputSpec = { axes: { [-1]: cin } };
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    this.checkInput(x.shape);
    let y = emit(this.op, [x, this.kernel!.tensor], { strides: this.strides, padding: this.padding, dilations: this.dilationRate })[0];
    if (this.bias) y = ops.add(y, this.bias);
    return getActivation(this.activation)(y);
  }

  private checkInput(shape: Shape): void {
    expectImage(shape);
    expectWindowFits(shape, 'kernel', this.kernelSize, this.dilationRate, this.padding);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: 'channelsLast',
      dilationRate: this.dilationRate,
      activation: activationConfig(this.activation),
      useBias: this.useBias,
      biasInitializer: initializerConfig(this.biasInitializer),
      biasRegularizer: regularizerConfig(this.biasRegularizer),
    };
  }
}

/** Options of Conv2D. */
export interface Conv2DArgs extends BaseConv2DArgs {
  filters?: number;
  kernelInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier;
}

/** 2-d convolution: `activation(conv2d(x, kernel) + bias)`, kernel HWIO `[kh, kw, cin, filters]`. */
export class Conv2D extends BaseConv2D {
  static override className = 'Conv2D';
  protected readonly op = 'conv2d';
  readonly filters: number;
  private readonly kernelInitializer: InitializerIdentifier;
  private readonly kernelRegularizer: Regularizer | null;

  /** `Conv2D(32, 3, {...})`, `Conv2D(32, {kernelSize: 3})` or `Conv2D({filters: 32, kernelSize: 3})`. */
  constructor(filters: number | Conv2DArgs, kernelSize?: IntOrPair | Conv2DArgs, args: Conv2DArgs = {}) {
    const a: Conv2DArgs =
      typeof filters === 'object' ? filters
      : typeof kernelSize === 'object' && !Array.isArray(kernelSize) ? { ...(kernelSize as Conv2DArgs), filters }
      : { ...args, filters, kernelSize: kernelSize as IntOrPair | undefined };
    super(a);
    this.filters = a.filters as number;
    this.kernelInitializer = a.kernelInitializer ?? 'glorotUniform';
    this.kernelRegularizer = this.inContext(() => {
      if (!Number.isInteger(a.filters) || (a.filters as number) < 1) throw new ModelError(`filters must be a positive integer, got ${JSON.stringify(a.filters)}`);
      getInitializer(this.kernelInitializer);
      return getRegularizer(a.kernelRegularizer);
    });
  }

  protected kernelSpec(cin: number) {
    const [kh, kw] = this.kernelSize;
    return { name: 'kernel', shape: [kh, kw, cin, this.filters], initializer: this.kernelInitializer, regularizer: this.kernelRegularizer, cout: this.filters };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelInitializer: initializerConfig(this.kernelInitializer),
      kernelRegularizer: regularizerConfig(this.kernelRegularizer),
    };
  }
}

/** Options of DepthwiseConv2D. */
export interface DepthwiseConv2DArgs extends BaseConv2DArgs {
  depthMultiplier?: number;
  depthwiseInitializer?: InitializerIdentifier;
  depthwiseRegularizer?: RegularizerIdentifier;
}

/** Depthwise 2-d convolution: each input channel through `depthMultiplier` filters; kernel `[kh, kw, cin, multiplier]`. */
export class DepthwiseConv2D extends BaseConv2D {
  static override className = 'DepthwiseConv2D';
  protected readonly op = 'depthwiseConv2d';
  readonly depthMultiplier: number;
  private readonly depthwiseInitializer: InitializerIdentifier;
  private readonly depthwiseRegularizer: Regularizer | null;

  /** `DepthwiseConv2D(3, {...})` or `DepthwiseConv2D({kernelSize: 3, depthMultiplier: 2})`. */
  constructor(kernelSize: IntOrPair | DepthwiseConv2DArgs, args: DepthwiseConv2DArgs = {}) {
    const a: DepthwiseConv2DArgs = typeof kernelSize === 'object' && !Array.isArray(kernelSize) ? (kernelSize as DepthwiseConv2DArgs) : { ...args, kernelSize: kernelSize as IntOrPair };
    super(a);
    this.depthMultiplier = a.depthMultiplier ?? 1;
    this.depthwiseInitializer = a.depthwiseInitializer ?? 'glorotUniform';
    this.depthwiseRegularizer = this.inContext(() => {
      if (!Number.isInteger(this.depthMultiplier) || this.depthMultiplier < 1) throw new ModelError(`depthMultiplier must be a positive integer, got ${JSON.stringify(a.depthMultiplier)}`);
      getInitializer(this.depthwiseInitializer);
      return getRegularizer(a.depthwiseRegularizer);
    });
  }

  protected kernelSpec(cin: number) {
    const [kh, kw] = this.kernelSize;
    const m = this.depthMultiplier;
    return { name: 'depthwise_kernel', shape: [kh, kw, cin, m], initializer: this.depthwiseInitializer, regularizer: this.depthwiseRegularizer, cout: cin * m };
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      depthMultiplier: this.depthMultiplier,
      depthwiseInitializer: initializerConfig(this.depthwiseInitializer),
      depthwiseRegularizer: regularizerConfig(this.depthwiseRegularizer),
    };
  }
}
