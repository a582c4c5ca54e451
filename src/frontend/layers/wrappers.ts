/** Bidirectional and TimeDistributed: layers that run another layer (Keras semantics, TF.js names). */
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type CallArgs, type LayerArgs, type Shape } from '../layer.js';
import { nameScope } from '../scopes.js';
import * as ops from '../ops.js';
import type { SymbolicTensor } from '../symbolic.js';
import { maskOf, withMask } from '../masks.js';
import type { LayerVariable } from '../variables.js';
import { RecurrentLayer, type RecurrentCallArgs } from './recurrent.js';
import { LAYER_CLASSES } from './index.js';

/** A nested layer as configs carry it: an instance, or `{className, config}` (Keras/TF.js JSON). */
export type NestedLayer = Layer | { className: string; config: Record<string, unknown> };

/** The instance for a nested layer; configs are rebuilt through the layer registry. */
function layerOf(wrapper: string, nested: NestedLayer | undefined): Layer {
  if (nested instanceof Layer) return nested;
  const Ctor = nested && typeof nested === 'object' ? (LAYER_CLASSES[nested.className] as unknown as typeof Layer | undefined) : undefined;
  if (!Ctor) throw new ModelError(`${wrapper}: layer must be a layer or {className, config} of a known layer, got ${JSON.stringify(nested)?.slice(0, 200)}`);
  return Ctor.fromConfig(nested!.config ?? {});
}

/** How Bidirectional combines the two directions; null returns both. */
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave' | null;

const MERGES: Record<Exclude<MergeMode, null>, (a: SymbolicTensor, b: SymbolicTensor) => SymbolicTensor> = {
  concat: (a, b) => ops.concat([a, b], -1),
  sum: (a, b) => ops.add(a, b),
  mul: (a, b) => ops.mul(a, b),
  ave: (a, b) => ops.mul(ops.add(a, b), 0.5),
};

/** Options of Bidirectional. */
export interface BidirectionalArgs extends LayerArgs {
  layer: RecurrentLayer | NestedLayer;
  mergeMode?: MergeMode;
  /** The layer for the backward direction (an instance or a config); by default a copy of `layer` going the other way. */
  backwardLayer?: RecurrentLayer | NestedLayer;
}

/** A copy of a recurrent layer from its config, renamed, optionally reversed. */
function copyOf(layer: RecurrentLayer, name: string, flip: boolean): RecurrentLayer {
  const { batchInputShape: _drop, ...config } = layer.getConfig();
  const Ctor = layer.constructor as new (args: Record<string, unknown>) => RecurrentLayer;
  return new Ctor({ ...config, name, goBackwards: flip ? !layer.goBackwards : layer.goBackwards });
}

/** Reverses axis 1 (time) of a [batch, time, ...] tensor; time must be known. */
function reverseTime(x: SymbolicTensor): SymbolicTensor {
  const T = x.shape[1];
  if (T === null) throw new ShapeError(`Bidirectional with returnSequences needs a known number of time steps, got ${formatShape(x.shape)}`);
  return ops.gather(x, ops.constant(Array.from({ length: T }, (_, i) => T - 1 - i), [T], 'int32'), 1);
}

/**
 * Runs a recurrent layer forward and a copy backward over the same sequence and merges the two
 * (the backward outputs re-reversed to line up in time when sequences are returned).
 */
export class Bidirectional extends Layer {
  static override className = 'Bidirectional';
  readonly forwardLayer: RecurrentLayer;
  readonly backwardLayer: RecurrentLayer;
  readonly mergeMode: MergeMode;
  /** The wrapped layer's config, as given (TF.js serializes the original, not the forward copy). */
  private readonly layerConfig: { className: string; config: Record<string, unknown> };
  /** The given backward layer's config, when one was given. */
  private readonly backwardConfig?: { className: string; config: Record<string, unknown> };

  constructor(args: BidirectionalArgs) {
    super(args);
    const layer = layerOf(`Bidirectional '${this.name}'`, args.layer);
    if (!(layer instanceof RecurrentLayer)) throw new ModelError(`Bidirectional '${this.name}': layer must be a SimpleRNN, LSTM or GRU, got ${layer.getClassName()}`, { layer: this.name });
    this.mergeMode = args.mergeMode === undefined ? 'concat' : args.mergeMode;
    if (this.mergeMode !== null && !MERGES[this.mergeMode]) throw new ModelError(`Bidirectional '${this.name}': mergeMode must be one of concat, sum, mul, ave or null, got ${JSON.stringify(args.mergeMode)}`);
    this.layerConfig = { className: layer.getClassName(), config: layer.getConfig() };
    this.forwardLayer = copyOf(layer, `forward_${layer.name}`, false);
    const backward = args.backwardLayer ? layerOf(`Bidirectional '${this.name}' backwardLayer`, args.backwardLayer) : layer;
    if (!(backward instanceof RecurrentLayer)) throw new ModelError(`Bidirectional '${this.name}': backwardLayer must be a SimpleRNN, LSTM or GRU, got ${backward.getClassName()}`, { layer: this.name });
    this.backwardLayer = copyOf(backward, `backward_${backward.name}`, !args.backwardLayer);
    if (args.backwardLayer) this.backwardConfig = { className: backward.getClassName(), config: backward.getConfig() };
    this.inputSpec = [{ ndim: 3 }];
  }

  /** Initial states (forward's then backward's) travel as extra inputs, as in RecurrentLayer. */
  override apply(inputs: SymbolicTensor | SymbolicTensor[], args: RecurrentCallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const { initialState, ...rest } = args;
    if (!initialState) return super.apply(inputs, rest);
    const states = Array.isArray(initialState) ? initialState : [initialState];
    return super.apply([...(Array.isArray(inputs) ? inputs : [inputs]), ...states], rest);
  }

  override call(inputs: SymbolicTensor | SymbolicTensor[], args: RecurrentCallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const [x, ...states] = Array.isArray(inputs) ? inputs : [inputs];
    const half = states.length / 2;
    if (states.length && !Number.isInteger(half)) throw new ModelError(`Bidirectional takes initial states for both directions (an even number), got ${states.length}`);
    const mask = args.mask ?? maskOf(x);
    const run = (layer: RecurrentLayer, s: SymbolicTensor[]) => {
      const out = nameScope(this.name, () => layer.apply(x, { training: args.training, mask, ...(s.length ? { initialState: s } : {}) }));
      return Array.isArray(out) ? out : [out];
    };
    const [yf, ...sf] = run(this.forwardLayer, states.slice(0, half));
    let [yb, ...sb] = run(this.backwardLayer, states.slice(half));
    if (this.forwardLayer.returnSequences) yb = reverseTime(yb);
    const merged = this.mergeMode === null ? [yf, yb] : [MERGES[this.mergeMode](yf, yb)];
    if (this.forwardLayer.returnSequences) merged.forEach((t) => withMask(t, mask));
    const outs = [...merged, ...sf, ...sb];
    return outs.length === 1 ? outs[0] : outs;
  }

  override allWeights(): LayerVariable[] {
    return [...this.forwardLayer.allWeights(), ...this.backwardLayer.allWeights()];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), mergeMode: this.mergeMode, layer: this.layerConfig, ...(this.backwardConfig ? { backwardLayer: this.backwardConfig } : {}) };
  }
}

/** Options of TimeDistributed. */
export interface TimeDistributedArgs extends LayerArgs {
  layer: NestedLayer;
}

/** Applies a layer to every time step of a [batch, time, ...] input: the steps are folded into the batch. */
export class TimeDistributed extends Layer {
  static override className = 'TimeDistributed';
  readonly layer: Layer;

  constructor(args: TimeDistributedArgs) {
    super(args);
    this.layer = layerOf(`TimeDistributed '${this.name}'`, args.layer);
    this.inputSpec = { minNdim: 3 };
  }

  override build(inputShape: Shape): void {
    if (inputShape.slice(1).some((d) => d === null)) throw new ShapeError(`TimeDistributed needs every axis but the batch known, got ${formatShape(inputShape)}`);
  }

  override call(x: SymbolicTensor, args: CallArgs = {}): SymbolicTensor {
    const [, T, ...rest] = x.shape as number[];
    const steps = ops.reshape(x, [-1, ...rest]);
    const y = this.layer.built ? this.layer.apply(steps, args) : this.buildInner(steps, args);
    if (Array.isArray(y)) throw new ModelError(`TimeDistributed '${this.name}': the inner layer must return one tensor`);
    return withMask(ops.reshape(y, [-1, T, ...(y.shape.slice(1) as number[])]), maskOf(x));
  }

  /** The first call builds the inner layer under this layer's name, so its weights are `td/kernel` as TF.js and Keras name them. */
  private buildInner(steps: SymbolicTensor, args: CallArgs): SymbolicTensor | SymbolicTensor[] {
    const own = this.layer.name;
    this.layer.name = this.name;
    try {
      return this.layer.apply(steps, args);
    } finally {
      this.layer.name = own;
    }
  }

  override allWeights(): LayerVariable[] {
    return this.layer.allWeights();
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), layer: { className: this.layer.getClassName(), config: this.layer.getConfig() } };
  }
}
