/** LayerNormalization, lowered to the IR's composite `layerNorm` op. */
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type LayerArgs, type Shape } from '../layer.js';
import { getInitializer, type InitializerIdentifier } from '../initializers.js';
import { getRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import * as ops from '../ops.js';
import { emit, type SymbolicTensor } from '../symbolic.js';
import type { LayerVariable } from '../variables.js';
import { initializerConfig, regularizerConfig } from './core.js';

/** Options of LayerNormalization (Keras names in camelCase). */
export interface LayerNormalizationArgs extends LayerArgs {
  /** The axis or axes normalized over (negative counts from the end); -1 by default. */
  axis?: number | number[];
  epsilon?: number;
  /** Add the learned offset beta. */
  center?: boolean;
  /** Multiply by the learned scale gamma. */
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
  betaRegularizer?: RegularizerIdentifier;
  gammaRegularizer?: RegularizerIdentifier;
}

/**
 * Layer normalization, as Keras: each sample is normalized over `axis` with its own mean and biased
 * variance, `gamma·(x − mean)/√(var + ε) + beta`, gamma and beta shaped like the normalized dims.
 * The same in training and inference.
 */
export class LayerNormalization extends Layer {
  static override className = 'LayerNormalization';
  readonly axis: number | number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  private readonly initializers: Record<'beta' | 'gamma', InitializerIdentifier>;
  private readonly betaRegularizer: Regularizer | null;
  private readonly gammaRegularizer: Regularizer | null;
  /** The normalized axes counted from the front, sorted, known once built. */
  private axes: number[] = [];

  /** `LayerNormalization()`, `LayerNormalization({axis: [1, 2], epsilon: 1e-5})`. */
  constructor(args: LayerNormalizationArgs = {}) {
    super(args);
    this.axis = args.axis ?? -1;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.initializers = { beta: args.betaInitializer ?? 'zeros', gamma: args.gammaInitializer ?? 'ones' };
    [this.betaRegularizer, this.gammaRegularizer] = this.inContext(() => {
      const list = Array.isArray(this.axis) ? this.axis : [this.axis];
      if (list.length === 0 || !list.every(Number.isInteger)) throw new ModelError(`axis must be an integer or a non-empty list of integers, got ${JSON.stringify(args.axis)}`);
      if (!(this.epsilon > 0)) throw new ModelError(`epsilon must be > 0, got ${JSON.stringify(args.epsilon)}`);
      Object.values(this.initializers).forEach((i) => getInitializer(i));
      return [getRegularizer(args.betaRegularizer), getRegularizer(args.gammaRegularizer)];
    });
  }

  override build(inputShape: Shape): void {
    const rank = inputShape.length;
    const list = Array.isArray(this.axis) ? this.axis : [this.axis];
    const axes = list.map((a) => {
      if (a < -rank || a >= rank) throw new ShapeError(`axis ${a} is out of range for input of shape ${formatShape(inputShape)} (rank ${rank}); valid axes are ${-rank}..${rank - 1}`, { axis: a });
      return a < 0 ? a + rank : a;
    });
    if (new Set(axes).size !== axes.length) throw new ShapeError(`axis ${JSON.stringify(this.axis)} names an axis of ${formatShape(inputShape)} twice`, { axis: this.axis });
    if (axes.includes(0)) throw new ShapeError(`axis ${JSON.stringify(this.axis)} includes the batch axis of ${formatShape(inputShape)}; normalize over sample axes`, { axis: this.axis });
    this.axes = axes.sort((a, b) => a - b);
    const dims = this.axes.map((a) => inputShape[a]);
    if (dims.some((d) => d === null)) throw new ShapeError(`the normalized axes ${JSON.stringify(this.axis)} of the input must be known, got shape ${formatShape(inputShape)}`, { axis: this.axis });
    const shape = dims as number[];
    if (this.scale) this.gamma = this.addWeight('gamma', shape, this.initializers.gamma, { regularizer: this.gammaRegularizer });
    if (this.center) this.beta = this.addWeight('beta', shape, this.initializers.beta, { regularizer: this.betaRegularizer });
    this.inputSpec = { ndim: rank, axes: Object.fromEntries(this.axes.map((a, i) => [a, shape[i]])) };
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    const shape = this.axes.map((a) => x.shape[a] as number);
    const gamma = this.gamma?.tensor ?? ops.constant(1, shape);
    const beta = this.beta?.tensor ?? ops.constant(0, shape);
    const [y] = emit('layerNorm', [x, gamma, beta], { axes: this.axes, epsilon: this.epsilon });
    return y;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: initializerConfig(this.initializers.beta),
      gammaInitializer: initializerConfig(this.initializers.gamma),
      betaRegularizer: regularizerConfig(this.betaRegularizer),
      gammaRegularizer: regularizerConfig(this.gammaRegularizer),
    };
  }
}
