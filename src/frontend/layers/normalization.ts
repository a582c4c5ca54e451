/** BatchNormalization, lowered to the IR's `batchNorm` op with the learning phase as an input. */
import { formatShape, ModelError, ShapeError } from '../../ir/errors.js';
import { Layer, type CallArgs, type LayerArgs, type Shape } from '../layer.js';
import { getInitializer, type InitializerIdentifier } from '../initializers.js';
import { getRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import * as ops from '../ops.js';
import { emit, type SymbolicTensor } from '../symbolic.js';
import { trainingFlag } from '../tensors.js';
import type { LayerVariable } from '../variables.js';
import { initializerConfig, regularizerConfig } from './core.js';

/** Options of BatchNormalization (Keras names in camelCase). */
export interface BatchNormalizationArgs extends LayerArgs {
  /** The channel axis, kept; every other axis is normalized over. -1 by default. */
  axis?: number;
  momentum?: number;
  epsilon?: number;
  /** Add the learned offset beta. */
  center?: boolean;
  /** Multiply by the learned scale gamma. */
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
  movingMeanInitializer?: InitializerIdentifier;
  movingVarianceInitializer?: InitializerIdentifier;
  betaRegularizer?: RegularizerIdentifier;
  gammaRegularizer?: RegularizerIdentifier;
}

/**
 * Batch normalization, as Keras: `gamma·(x − mean)/√(var + ε) + beta` per channel of `axis`. Training
 * uses the batch statistics and records updates of the moving ones (`layer.updates`); inference, and
 * any call of a layer with `trainable = false`, uses the moving statistics.
 */
export class BatchNormalization extends Layer {
  static override className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  movingMean?: LayerVariable;
  movingVariance?: LayerVariable;
  private readonly initializers: Record<'beta' | 'gamma' | 'movingMean' | 'movingVariance', InitializerIdentifier>;
  private readonly betaRegularizer: Regularizer | null;
  private readonly gammaRegularizer: Regularizer | null;
  /** The axis counted from the front, known once built. */
  private channelAxis = -1;

  /** `BatchNormalization()`, `BatchNormalization(1)` (the axis, as Keras's first argument) or `BatchNormalization({axis, momentum})`. */
  constructor(axis?: number | BatchNormalizationArgs, args: BatchNormalizationArgs = {}) {
    const a: BatchNormalizationArgs = typeof axis === 'object' && axis !== null ? axis : { ...args, ...(axis === undefined ? {} : { axis }) };
    super(a);
    this.axis = a.axis ?? -1;
    this.momentum = a.momentum ?? 0.99;
    this.epsilon = a.epsilon ?? 1e-3;
    this.center = a.center ?? true;
    this.scale = a.scale ?? true;
    this.initializers = {
      beta: a.betaInitializer ?? 'zeros',
      gamma: a.gammaInitializer ?? 'ones',
      movingMean: a.movingMeanInitializer ?? 'zeros',
      movingVariance: a.movingVarianceInitializer ?? 'ones',
    };
    [this.betaRegularizer, this.gammaRegularizer] = this.inContext(() => {
      if (!Number.isInteger(this.axis)) throw new ModelError(`axis must be an integer (one channel axis), got ${JSON.stringify(a.axis)}`);
      if (!Number.isFinite(this.momentum)) throw new ModelError(`momentum must be a number, got ${JSON.stringify(a.momentum)}`);
      if (!(this.epsilon > 0)) throw new ModelError(`epsilon must be > 0, got ${JSON.stringify(a.epsilon)}`);
      Object.values(this.initializers).forEach((i) => getInitializer(i));
      return [getRegularizer(a.betaRegularizer), getRegularizer(a.gammaRegularizer)];
    });
  }

  override build(inputShape: Shape): void {
    const rank = inputShape.length;
    if (this.axis < -rank || this.axis >= rank) {
      throw new ShapeError(`axis ${this.axis} is out of range for input of shape ${formatShape(inputShape)} (rank ${rank}); valid axes are ${-rank}..${rank - 1}`, { axis: this.axis });
    }
    this.channelAxis = this.axis < 0 ? this.axis + rank : this.axis;
    const dim = inputShape[this.channelAxis];
    if (dim === null) throw new ShapeError(`axis ${this.axis} of the input must be known, got shape ${formatShape(inputShape)}`, { axis: this.axis });
    const i = this.initializers;
    if (this.scale) this.gamma = this.addWeight('gamma', [dim], i.gamma, { regularizer: this.gammaRegularizer });
    if (this.center) this.beta = this.addWeight('beta', [dim], i.beta, { regularizer: this.betaRegularizer });
    this.movingMean = this.addWeight('moving_mean', [dim], i.movingMean, { trainable: false });
    this.movingVariance = this.addWeight('moving_variance', [dim], i.movingVariance, { trainable: false });
    this.inputSpec = { ndim: rank, axes: { [this.channelAxis]: dim } };
  }

  override call(x: SymbolicTensor, args: CallArgs = {}): SymbolicTensor {
    // Keras: a frozen BatchNormalization always runs in inference mode (fine-tuning convention).
    const training = this.trainable ? args.training : false;
    const channels = this.movingMean!.shape[0];
    const gamma = this.gamma?.tensor ?? ops.constant(1, [channels]);
    const beta = this.beta?.tensor ?? ops.constant(0, [channels]);
    const inputs = [x, gamma, beta, this.movingMean!.tensor, this.movingVariance!.tensor, trainingFlag(training)];
    const [y, newMean, newVariance] = emit('batchNorm', inputs, { axis: this.channelAxis, epsilon: this.epsilon, momentum: this.momentum });
    // A call fixed to inference cannot change the statistics, so it records no updates.
    if (training !== false) {
      this.addUpdate(this.movingMean!, newMean);
      this.addUpdate(this.movingVariance!, newVariance);
    }
    return y;
  }

  override getConfig(): Record<string, unknown> {
    const i = this.initializers;
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: initializerConfig(i.beta),
      gammaInitializer: initializerConfig(i.gamma),
      movingMeanInitializer: initializerConfig(i.movingMean),
      movingVarianceInitializer: initializerConfig(i.movingVariance),
      betaRegularizer: regularizerConfig(this.betaRegularizer),
      gammaRegularizer: regularizerConfig(this.gammaRegularizer),
    };
  }
}
