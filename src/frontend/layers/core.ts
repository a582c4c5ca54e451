import type { Dim } from '../../ir/types.js';
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type CallArgs, type LayerArgs, type Shape } from '../layer.js';
import { getActivation, activationName, type ActivationIdentifier } from '../activations.js';
import type { InitializerIdentifier } from '../initializers.js';
import { getInitializer } from '../initializers.js';
import { getRegularizer, type Regularizer } from '../regularizers.js';
import * as ops from '../ops.js';
import { emit, type SymbolicTensor } from '../symbolic.js';
import { trainingFlag } from '../tensors.js';
import type { LayerVariable } from '../variables.js';

/** Serializable name of an activation identifier (a function keeps its JS name). */
export function activationConfig(id: ActivationIdentifier): string {
  if (id === null || id === undefined) return 'linear';
  return typeof id === 'function' ? id.name || 'custom' : activationName(id);
}

/** Config of an initializer identifier, as Keras serializes it ({className, config}). */
export function initializerConfig(id: InitializerIdentifier): unknown {
  const init = getInitializer(id);
  return { className: init.className, config: init.getConfig() };
}

/** Config of a regularizer, or null. */
export function regularizerConfig(reg: Regularizer | null): unknown {
  return reg ? { className: reg.className, config: reg.getConfig() } : null;
}

/** Options of Dense (Keras names in camelCase). */
export interface DenseArgs extends LayerArgs {
  units?: number;
  activation?: ActivationIdentifier;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: Parameters<typeof getRegularizer>[0];
  biasRegularizer?: Parameters<typeof getRegularizer>[0];
}

/** A densely connected layer: `activation(x · kernel + bias)` over the last axis. */
export class Dense extends Layer {
  static override className = 'Dense';
  readonly units: number;
  readonly activation: ActivationIdentifier;
  readonly useBias: boolean;
  kernel?: LayerVariable;
  bias?: LayerVariable;
  private readonly args: DenseArgs;

  constructor(units: number | DenseArgs, args: DenseArgs = {}) {
    const a = typeof units === 'number' ? { ...args, units } : units;
    super(a);
    if (!Number.isInteger(a.units) || (a.units as number) <= 0) throw new ModelError(`Dense '${this.name}': units must be a positive integer, got ${a.units}`, { layer: this.name });
    this.units = a.units as number;
    this.activation = a.activation ?? 'linear';
    getActivation(this.activation);
    this.useBias = a.useBias ?? true;
    this.args = a;
    this.inputSpec = { minNdim: 2 };
  }

  override build(inputShape: Shape): void {
    const last = inputShape.at(-1);
    if (last === null || last === undefined) throw new ShapeError(`the last axis of the input must be known, got ${formatShape(inputShape)}`);
    this.kernel = this.addWeight('kernel', [last, this.units], this.args.kernelInitializer ?? 'glorotUniform', { regularizer: getRegularizer(this.args.kernelRegularizer) });
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], this.args.biasInitializer ?? 'zeros', { regularizer: getRegularizer(this.args.biasRegularizer) });
    this.inputSpec = { minNdim: 2, axes: { [-1]: last } };
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    let y = ops.matmul(x, this.kernel!);
    if (this.bias) y = ops.add(y, this.bias);
    return getActivation(this.activation)(y);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: activationConfig(this.activation),
      useBias: this.useBias,
      kernelInitializer: initializerConfig(this.args.kernelInitializer ?? 'glorotUniform'),
      biasInitializer: initializerConfig(this.args.biasInitializer ?? 'zeros'),
      kernelRegularizer: regularizerConfig(getRegularizer(this.args.kernelRegularizer)),
      biasRegularizer: regularizerConfig(getRegularizer(this.args.biasRegularizer)),
    };
  }
}

/** Options of Activation. */
export interface ActivationArgs extends LayerArgs {
  activation?: ActivationIdentifier;
}

/** Applies an activation function. */
export class Activation extends Layer {
  static override className = 'Activation';
  readonly activation: ActivationIdentifier;

  constructor(activation: ActivationIdentifier | ActivationArgs, args: ActivationArgs = {}) {
    const a = typeof activation === 'object' && activation !== null ? activation : { ...args, activation };
    super(a);
    this.activation = a.activation ?? 'linear';
    getActivation(this.activation);
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    return getActivation(this.activation)(x);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: activationConfig(this.activation) };
  }
}

/** Options of Dropout. */
export interface DropoutArgs extends LayerArgs {
  rate?: number;
  noiseShape?: Dim[];
  seed?: number;
}

let dropoutSeeds = 0;

/** Zeroes a fraction `rate` of inputs while training (scaling the rest by 1/(1−rate)); identity in inference. */
export class Dropout extends Layer {
  static override className = 'Dropout';
  readonly rate: number;
  readonly seed: number;

  constructor(rate: number | DropoutArgs, args: DropoutArgs = {}) {
    const a = typeof rate === 'number' ? { ...args, rate } : rate;
    super(a);
    if (typeof a.rate !== 'number' || !(a.rate >= 0 && a.rate < 1)) throw new ModelError(`Dropout '${this.name}': rate must be in [0, 1), got ${a.rate}`, { layer: this.name });
    if (a.noiseShape) throw new ModelError(`Dropout '${this.name}': noiseShape is not supported yet`, { layer: this.name });
    this.rate = a.rate;
    this.seed = a.seed ?? dropoutSeeds++;
  }

  override call(x: SymbolicTensor, args: CallArgs = {}): SymbolicTensor {
    if (this.rate === 0) return x;
    return emit('dropout', [x, trainingFlag(args.training)], { rate: this.rate, seed: this.seed })[0];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, noiseShape: null, seed: this.seed };
  }
}
