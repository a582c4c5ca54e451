/**
 * SimpleRNN, LSTM and GRU (Keras semantics, TF.js names and defaults), each lowered to one
 * `rnnSequence` op so the whole time loop compiles to fused kernels.
 */
import type { Attrs } from '../../ir/types.js';
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { RNN_GATES, type RnnCell } from '../../ir/ops/recurrent.js';
import { Layer, type CallArgs, type LayerArgs, type Shape } from '../layer.js';
import { activationName } from '../activations.js';
import { getInitializer, type Initializer, type InitializerIdentifier } from '../initializers.js';
import { getRegularizer, type RegularizerIdentifier } from '../regularizers.js';
import * as ops from '../ops.js';
import { emit, type SymbolicTensor } from '../symbolic.js';
import { trainingFlag } from '../tensors.js';
import { maskOf, withMask } from '../masks.js';
import { LayerVariable } from '../variables.js';
import { currentNamePrefix } from '../scopes.js';
import { initializerConfig, regularizerConfig } from './core.js';

/** Options shared by SimpleRNN, LSTM and GRU (TF.js names). */
export interface RecurrentArgs extends LayerArgs {
  units?: number;
  activation?: string | null;
  recurrentActivation?: string | null;
  useBias?: boolean;
  kernelInitializer?: InitializerIdentifier;
  recurrentInitializer?: InitializerIdentifier;
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier;
  recurrentRegularizer?: RegularizerIdentifier;
  biasRegularizer?: RegularizerIdentifier;
  /** Fraction of the inputs dropped while training (one mask per sequence, as Keras). */
  dropout?: number;
  /** Fraction of the recurrent state dropped while training. */
  recurrentDropout?: number;
  returnSequences?: boolean;
  returnState?: boolean;
  goBackwards?: boolean;
  /** Keep the last state of each batch row as the next call's initial state. Not compiled yet. */
  stateful?: boolean;
  /** Accepted for config compatibility; the time loop is always compiled whole. */
  unroll?: boolean;
  /** LSTM: add 1 to the forget gate's bias at initialization. */
  unitForgetBias?: boolean;
  /** GRU: apply the reset gate after the recurrent matmul (Keras 2's default; TF.js supports only false). */
  resetAfter?: boolean;
  /** Accepted for config compatibility (Keras's kernel choice); the math is the same. */
  implementation?: number;
}

/** Extra arguments of a recurrent call: `initialState` and `mask` (CallArgs carries both, for every layer's typing). */
export type RecurrentCallArgs = CallArgs;

/** Per cell: defaults that differ (TF.js). */
const CELL_DEFAULTS: Readonly<Record<RnnCell, { recurrentActivation: string | null }>> = {
  simple: { recurrentActivation: null },
  lstm: { recurrentActivation: 'hardSigmoid' },
  gru: { recurrentActivation: 'hardSigmoid' },
};

let dropoutSeeds = 0x5eed;

/** Bias initializer of LSTM with unitForgetBias: the given one, with ones over the forget gate (Keras). */
function unitForgetBias(base: Initializer, units: number): Initializer {
  return {
    className: base.className,
    getConfig: () => base.getConfig(),
    init: () => {
      const v = base.init([4 * units]);
      v.fill(1, units, 2 * units);
      return v;
    },
  };
}

/** The shared machinery of SimpleRNN, LSTM and GRU: weights, config, and the one op per call. */
export abstract class RecurrentLayer extends Layer {
  abstract readonly cell: RnnCell;
  readonly units: number;
  readonly activation: string;
  readonly recurrentActivation: string;
  readonly useBias: boolean;
  readonly dropout: number;
  readonly recurrentDropout: number;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly stateful: boolean;
  readonly unitForgetBias: boolean;
  readonly resetAfter: boolean;
  kernel?: LayerVariable;
  recurrentKernel?: LayerVariable;
  bias?: LayerVariable;
  protected readonly args: RecurrentArgs;
  private readonly seed = dropoutSeeds++ * 2;

  constructor(args: RecurrentArgs, cell: RnnCell) {
    super(args);
    const bad = (what: string): never => {
      throw new ModelError(`${this.getClassName()} '${this.name}': ${what}`, { layer: this.name });
    };
    if (!Number.isInteger(args.units) || (args.units as number) <= 0) bad(`units must be a positive integer, got ${JSON.stringify(args.units)}`);
    this.units = args.units as number;
    this.activation = args.activation === null ? 'linear' : activationName(args.activation ?? 'tanh');
    const rec = args.recurrentActivation === undefined ? CELL_DEFAULTS[cell].recurrentActivation : args.recurrentActivation;
    this.recurrentActivation = rec === null ? 'linear' : activationName(rec);
    this.useBias = args.useBias ?? true;
    this.dropout = Math.min(1, Math.max(0, args.dropout ?? 0));
    this.recurrentDropout = Math.min(1, Math.max(0, args.recurrentDropout ?? 0));
    if (this.dropout >= 1 || this.recurrentDropout >= 1) bad(`dropout rates must be below 1, got ${this.dropout} and ${this.recurrentDropout}`);
    this.returnSequences = args.returnSequences ?? false;
    this.returnState = args.returnState ?? false;
    this.goBackwards = args.goBackwards ?? false;
    this.stateful = args.stateful ?? false;
    this.unitForgetBias = cell === 'lstm' && (args.unitForgetBias ?? true);
    this.resetAfter = cell === 'gru' && (args.resetAfter ?? false);
    this.args = args;
    // Only the sequence is checked; initial states may follow it in the input list.
    this.inputSpec = [{ ndim: 3 }];
  }

  /** A stateful layer's state (h, and c for LSTM), carried from call to call until `resetStates`. */
  stateVariables: LayerVariable[] = [];

  /** Keras's `reset_states`: the state back to zeros, or to the given values (one array per state). */
  resetStates(states?: readonly (Float32Array | readonly number[])[]): void {
    if (!this.stateful) throw new ModelError(`${this.getClassName()} '${this.name}' is not stateful: resetStates applies to stateful layers only`, { layer: this.name });
    if (states && states.length !== this.stateVariables.length) {
      throw new ModelError(`${this.getClassName()} '${this.name}' has ${this.stateVariables.length} state(s), resetStates got ${states.length}`, { layer: this.name });
    }
    this.stateVariables.forEach((v, k) => v.write(states?.[k] ?? new Float32Array(v.size)));
  }

  /** Number of state tensors: h (and c for LSTM). */
  get stateCount(): number {
    return this.cell === 'lstm' ? 2 : 1;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const features = shape[2];
    if (features === null || features === undefined) throw new ShapeError(`the feature axis of the input must be known, got ${formatShape(shape)}`);
    const cols = this.units * RNN_GATES[this.cell];
    const a = this.args;
    this.kernel = this.addWeight('kernel', [features, cols], a.kernelInitializer ?? 'glorotUniform', { regularizer: getRegularizer(a.kernelRegularizer) });
    this.recurrentKernel = this.addWeight('recurrent_kernel', [this.units, cols], a.recurrentInitializer ?? 'orthogonal', { regularizer: getRegularizer(a.recurrentRegularizer) });
    if (this.stateful) {
      const batch = shape[0];
      if (typeof batch !== 'number') {
        throw new ModelError(`${this.getClassName()} '${this.name}': a stateful RNN needs a fixed batch size (Input({ batchShape }) or batchInputShape, as Keras), got input shape ${formatShape(shape)}`, { layer: this.name });
      }
      // The state is not a weight (Keras neither counts nor saves it): variables of their own, kept on the GPU between calls.
      this.stateVariables = Array.from({ length: this.stateCount }, (_, k) =>
        new LayerVariable(`${currentNamePrefix()}${this.name}/states_${k}`, [batch, this.units], new Float32Array(batch * this.units), this, { trainable: false }));
    }
    if (this.useBias) {
      let init = getInitializer(a.biasInitializer ?? 'zeros');
      if (this.unitForgetBias) init = unitForgetBias(init, this.units);
      this.bias = this.addWeight('bias', this.resetAfter ? [2, cols] : [cols], init, { regularizer: getRegularizer(a.biasRegularizer) });
    }
  }

  /** Initial states travel as extra inputs (TF.js's standardizeArgs), so model replays see them. */
  override apply(inputs: SymbolicTensor | SymbolicTensor[], args: RecurrentCallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const { initialState, ...rest } = args;
    if (!initialState) return super.apply(inputs, rest);
    if (Array.isArray(inputs)) throw new ModelError(`${this.getClassName()} '${this.name}': pass initial states either in the input list or as initialState, not both`, { layer: this.name });
    const states = Array.isArray(initialState) ? initialState : [initialState];
    return super.apply([inputs, ...states], rest);
  }

  override call(inputs: SymbolicTensor | SymbolicTensor[], args: RecurrentCallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const [x, ...given] = Array.isArray(inputs) ? inputs : [inputs];
    const carried = this.stateful && !given.length;
    const states = carried ? this.stateVariables.map((v) => v.tensor) : given;
    if (states.length && states.length !== this.stateCount) {
      throw new ModelError(`${this.getClassName()} has ${this.stateCount} state(s) but was passed ${states.length} initial state(s)`);
    }
    const mask = args.mask ?? maskOf(x);
    const training = this.dropout > 0 || this.recurrentDropout > 0 ? (args.training === false ? undefined : trainingFlag(args.training)) : undefined;
    const attrs: Attrs = {
      cell: this.cell,
      activation: this.activation,
      recurrentActivation: this.recurrentActivation,
      goBackwards: this.goBackwards,
      returnSequences: this.returnSequences,
      resetAfter: this.resetAfter,
      hasBias: this.useBias,
      hasInitialState: states.length > 0,
      hasMask: !!mask,
      dropout: training ? this.dropout : 0,
      recurrentDropout: training ? this.recurrentDropout : 0,
      seed: this.seed,
    };
    const opInputs = [x, this.kernel!.tensor, this.recurrentKernel!.tensor, ...(this.bias ? [this.bias.tensor] : []), ...states, ...(mask ? [mask.dtype === 'bool' ? mask : ops.cast(mask, 'bool')] : []), ...(training ? [training] : [])];
    const [y, ...finals] = emit('rnnSequence', opInputs, attrs);
    // The final state is the next call's initial state, at inference too.
    if (carried) this.stateVariables.forEach((v, k) => this.addUpdate(v, finals[k], { inference: true }));
    // Keras: the output sequence keeps the input's mask; a last-step output has none.
    const out = this.returnSequences ? withMask(y, mask) : y;
    return this.returnState ? [out, ...finals] : out;
  }

  override getConfig(): Record<string, unknown> {
    const a = this.args;
    const config: Record<string, unknown> = {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      ...(this.cell === 'simple' ? {} : { recurrentActivation: this.recurrentActivation }),
      useBias: this.useBias,
      kernelInitializer: initializerConfig(a.kernelInitializer ?? 'glorotUniform'),
      recurrentInitializer: initializerConfig(a.recurrentInitializer ?? 'orthogonal'),
      biasInitializer: initializerConfig(a.biasInitializer ?? 'zeros'),
      kernelRegularizer: regularizerConfig(getRegularizer(a.kernelRegularizer)),
      recurrentRegularizer: regularizerConfig(getRegularizer(a.recurrentRegularizer)),
      biasRegularizer: regularizerConfig(getRegularizer(a.biasRegularizer)),
      activityRegularizer: null,
      kernelConstraint: null,
      recurrentConstraint: null,
      biasConstraint: null,
      dropout: this.dropout,
      recurrentDropout: this.recurrentDropout,
      returnSequences: this.returnSequences,
      returnState: this.returnState,
      goBackwards: this.goBackwards,
      stateful: this.stateful,
      unroll: false,
    };
    if (this.cell === 'lstm') Object.assign(config, { unitForgetBias: this.unitForgetBias, implementation: a.implementation ?? 1 });
    if (this.cell === 'gru') Object.assign(config, { resetAfter: this.resetAfter, implementation: a.implementation ?? 1 });
    return config;
  }
}

/** Normalizes `(units, args)` / `(args)` constructor forms. */
function argsOf(units: number | RecurrentArgs, args: RecurrentArgs): RecurrentArgs {
  return typeof units === 'number' ? { ...args, units } : units;
}

/** Fully connected RNN: `h' = activation(x·W + h·R + b)`. */
export class SimpleRNN extends RecurrentLayer {
  static override className = 'SimpleRNN';
  readonly cell = 'simple' as const;
  constructor(units: number | RecurrentArgs, args: RecurrentArgs = {}) {
    super(argsOf(units, args), 'simple');
  }
}

/** Long short-term memory (Hochreiter 1997), gates i, f, c, o as Keras orders them. */
export class LSTM extends RecurrentLayer {
  static override className = 'LSTM';
  readonly cell = 'lstm' as const;
  constructor(units: number | RecurrentArgs, args: RecurrentArgs = {}) {
    super(argsOf(units, args), 'lstm');
  }
}

/** Gated recurrent unit (Cho 2014), gates z, r, h as Keras orders them; `resetAfter` as Keras 2. */
export class GRU extends RecurrentLayer {
  static override className = 'GRU';
  readonly cell = 'gru' as const;
  constructor(units: number | RecurrentArgs, args: RecurrentArgs = {}) {
    super(argsOf(units, args), 'gru');
  }
}
