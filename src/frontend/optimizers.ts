/**
 * Optimizers as configs, spelled as in TF.js/Keras (`SGD({learningRate, momentum})`, `Adam`, `AdamW`,
 * `RMSprop`, `Adagrad`), with Keras 3 defaults and Keras 3 `getConfig()`. They compute nothing:
 * `applyOptimizer` (src/passes/optimizer.ts) lowers them into the training graph. Learning-rate
 * schedules are evaluated on the host: the fit loop writes `learningRateAt(iterations)` into the
 * graph's `learning_rate` weight before each step, as Keras 3 calls its schedule on `iterations`.
 */
import { ModelError } from '../ir/errors.js';

/** A learning-rate schedule: a host function of the step (the optimizer's `iterations` before the update). */
export interface LearningRateSchedule {
  /** Keras class name (`'ExponentialDecay'`, …). */
  readonly className: string;
  valueAt(step: number): number;
  /** Keras 3 config, snake_case. */
  getConfig(): Record<string, unknown>;
}

/** A fixed learning rate or a schedule. */
export type LearningRate = number | LearningRateSchedule;

function positive(who: string, name: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new ModelError(`${who}: '${name}' must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${JSON.stringify(v)}`, { [name]: v });
  }
  return v;
}

/** Options of ExponentialDecay and InverseTimeDecay. */
export interface DecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
}

function decay(className: string, a: DecayArgs, f: (lr0: number, rate: number, p: number) => number): LearningRateSchedule {
  const lr0 = positive(className, 'initialLearningRate', a.initialLearningRate);
  const steps = positive(className, 'decaySteps', a.decaySteps);
  const rate = positive(className, 'decayRate', a.decayRate, true);
  const staircase = a.staircase ?? false;
  return {
    className,
    valueAt: (step) => f(lr0, rate, staircase ? Math.floor(step / steps) : step / steps),
    getConfig: () => ({ initial_learning_rate: lr0, decay_steps: steps, decay_rate: rate, staircase, name: className }),
  };
}

/** lr = initial · rate^(step / decaySteps), the exponent floored when `staircase`. */
export const exponentialDecay = (a: DecayArgs) => decay('ExponentialDecay', a, (lr0, rate, p) => lr0 * Math.pow(rate, p));
/** lr = initial / (1 + rate · step / decaySteps), the quotient floored when `staircase`. */
export const inverseTimeDecay = (a: DecayArgs) => decay('InverseTimeDecay', a, (lr0, rate, p) => lr0 / (1 + rate * p));

/** values[0] while step ≤ boundaries[0], values[i] while boundaries[i−1] < step ≤ boundaries[i], the last value after. */
export function piecewiseConstantDecay(a: { boundaries: readonly number[]; values: readonly number[] }): LearningRateSchedule {
  if (a.values.length !== a.boundaries.length + 1) {
    throw new ModelError(`PiecewiseConstantDecay: needs one more value than boundaries, got ${a.boundaries.length} boundaries and ${a.values.length} values`);
  }
  const boundaries = [...a.boundaries];
  const values = [...a.values];
  return {
    className: 'PiecewiseConstantDecay',
    valueAt: (step) => {
      const i = boundaries.findIndex((b) => step <= b);
      return values[i < 0 ? boundaries.length : i];
    },
    getConfig: () => ({ boundaries, values, name: 'PiecewiseConstant' }),
  };
}

/** Options of CosineDecay (Keras 3's names, camelCase). */
export interface CosineDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  /** The floor, as a fraction of the initial rate (default 0). */
  alpha?: number;
  /** With warmupSteps: the rate reached by a linear warmup from the initial rate, then decayed. */
  warmupTarget?: number;
  warmupSteps?: number;
}

/**
 * Keras 3 CosineDecay: after an optional linear warmup, lr = peak · ((1 − α)·½(1 + cos(π·min(s, decaySteps)/decaySteps)) + α),
 * s counted from the end of the warmup.
 */
export function cosineDecay(a: CosineDecayArgs): LearningRateSchedule {
  const lr0 = positive('CosineDecay', 'initialLearningRate', a.initialLearningRate, true);
  const steps = positive('CosineDecay', 'decaySteps', a.decaySteps);
  const alpha = positive('CosineDecay', 'alpha', a.alpha ?? 0, true);
  const warmupSteps = positive('CosineDecay', 'warmupSteps', a.warmupSteps ?? 0, true);
  const target = a.warmupTarget === undefined || a.warmupTarget === null ? undefined : positive('CosineDecay', 'warmupTarget', a.warmupTarget, true);
  const decayed = (peak: number, s: number) => peak * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * Math.min(s, steps)) / steps)) + alpha);
  return {
    className: 'CosineDecay',
    valueAt: (step) => {
      if (target === undefined) return decayed(lr0, step);
      if (step < warmupSteps) return lr0 + ((target - lr0) * step) / warmupSteps;
      return decayed(target, step - warmupSteps);
    },
    getConfig: () => ({ initial_learning_rate: lr0, decay_steps: steps, alpha, name: 'CosineDecay', warmup_target: target ?? null, warmup_steps: warmupSteps }),
  };
}

const SCHEDULES: Record<string, (c: Record<string, unknown>) => LearningRateSchedule> = {
  cosinedecay: (c) => cosineDecay({ initialLearningRate: c.initial_learning_rate ?? c.initialLearningRate, decaySteps: c.decay_steps ?? c.decaySteps, alpha: c.alpha, warmupTarget: c.warmup_target ?? c.warmupTarget, warmupSteps: c.warmup_steps ?? c.warmupSteps } as CosineDecayArgs),
  exponentialdecay: (c) => exponentialDecay({ initialLearningRate: c.initial_learning_rate ?? c.initialLearningRate, decaySteps: c.decay_steps ?? c.decaySteps, decayRate: c.decay_rate ?? c.decayRate, staircase: c.staircase } as DecayArgs),
  inversetimedecay: (c) => inverseTimeDecay({ initialLearningRate: c.initial_learning_rate ?? c.initialLearningRate, decaySteps: c.decay_steps ?? c.decaySteps, decayRate: c.decay_rate ?? c.decayRate, staircase: c.staircase } as DecayArgs),
  piecewiseconstantdecay: (c) => piecewiseConstantDecay(c as { boundaries: number[]; values: number[] }),
};

/** Options every optimizer takes (Keras 3 base `Optimizer`); at most one of the three clipping options. */
export interface OptimizerArgs {
  learningRate?: LearningRate;
  /** Each gradient is rescaled to L2 norm ≤ clipnorm. */
  clipnorm?: number | null;
  /** Each gradient element is clipped to [−clipvalue, clipvalue]. */
  clipvalue?: number | null;
  /** All gradients together are rescaled to global L2 norm ≤ globalClipnorm. */
  globalClipnorm?: number | null;
  /** Decoupled weight decay: w ← w − w·weightDecay·lr before the update (Keras 3, every optimizer). */
  weightDecay?: number | null;
  name?: string;
}

/** Per class: Keras 3 defaults of its own options (camelCase → snake_case key) and its default name. */
const CLASSES: Record<string, { name: string; lr: number; options: Record<string, [string, number | boolean]>; weightDecay?: number }> = {
  SGD: { name: 'SGD', lr: 0.01, options: { momentum: ['momentum', 0], nesterov: ['nesterov', false] } },
  Adam: { name: 'adam', lr: 0.001, options: { beta1: ['beta_1', 0.9], beta2: ['beta_2', 0.999], epsilon: ['epsilon', 1e-7], amsgrad: ['amsgrad', false] } },
  AdamW: { name: 'adamw', lr: 0.001, weightDecay: 0.004, options: { beta1: ['beta_1', 0.9], beta2: ['beta_2', 0.999], epsilon: ['epsilon', 1e-7], amsgrad: ['amsgrad', false] } },
  RMSprop: { name: 'rmsprop', lr: 0.001, options: { rho: ['rho', 0.9], momentum: ['momentum', 0], epsilon: ['epsilon', 1e-7], centered: ['centered', false] } },
  Adagrad: { name: 'adagrad', lr: 0.001, options: { initialAccumulatorValue: ['initial_accumulator_value', 0.1], epsilon: ['epsilon', 1e-7] } },
};

const BASE_KEYS = new Set(['learningRate', 'clipnorm', 'clipvalue', 'globalClipnorm', 'weightDecay', 'name']);

/** An optimizer config: Keras class name, options, and the learning rate at a step. */
export class Optimizer {
  readonly learningRate: LearningRate;
  readonly clipnorm: number | null;
  readonly clipvalue: number | null;
  readonly globalClipnorm: number | null;
  readonly weightDecay: number | null;
  readonly name: string;
  /** The class's own options with defaults filled in (camelCase). */
  readonly options: Readonly<Record<string, number | boolean>>;

  constructor(readonly className: string, options: OptimizerArgs = {}) {
    const args = options as Record<string, unknown>;
    const cls = CLASSES[className];
    if (!cls) throw new ModelError(`unknown optimizer class '${className}'; known: ${Object.keys(CLASSES).join(', ')}`);
    for (const k of Object.keys(args)) {
      if (args[k] !== undefined && !BASE_KEYS.has(k) && !(k in cls.options)) {
        throw new ModelError(`${className}: unknown option '${k}'; known: ${[...BASE_KEYS, ...Object.keys(cls.options)].join(', ')}`, { option: k });
      }
    }
    const lr = options.learningRate ?? cls.lr;
    this.learningRate = typeof lr === 'number' ? positive(className, 'learningRate', lr) : lr;
    const opt = (k: 'clipnorm' | 'clipvalue' | 'globalClipnorm' | 'weightDecay', dflt: number | null = null) =>
      args[k] === undefined || args[k] === null ? dflt : positive(className, k, args[k], k === 'weightDecay');
    this.clipnorm = opt('clipnorm');
    this.clipvalue = opt('clipvalue');
    this.globalClipnorm = opt('globalClipnorm');
    this.weightDecay = opt('weightDecay', cls.weightDecay ?? null);
    if ([this.clipnorm, this.clipvalue, this.globalClipnorm].filter((v) => v !== null).length > 1) {
      throw new ModelError(`${className}: only one of clipnorm, clipvalue and globalClipnorm can be set`);
    }
    this.name = options.name ?? cls.name;
    this.options = Object.fromEntries(Object.entries(cls.options).map(([k, [, d]]) => {
      const v = args[k] ?? d;
      if (typeof v !== typeof d) throw new ModelError(`${className}: '${k}' must be a ${typeof d}, got ${JSON.stringify(v)}`, { [k]: v });
      return [k, typeof v === 'number' ? positive(className, k, v, true) : v];
    })) as Record<string, number | boolean>;
    if (Number(this.options.momentum ?? 0) > 1) throw new ModelError(`${className}: 'momentum' must be in [0, 1], got ${this.options.momentum}`);
  }

  /** The learning rate the update at this step uses (Keras 3: the schedule called on `iterations`). */
  learningRateAt(step: number): number {
    return typeof this.learningRate === 'number' ? this.learningRate : this.learningRate.valueAt(step);
  }

  /** Keras 3 config (snake_case), as saved in a model's `training_config`. */
  getConfig(): Record<string, unknown> {
    const lr = this.learningRate;
    const cls = CLASSES[this.className];
    return {
      name: this.name,
      learning_rate: typeof lr === 'number' ? lr : { module: 'keras.optimizers.schedules', class_name: lr.className, config: lr.getConfig(), registered_name: null },
      weight_decay: this.weightDecay, clipnorm: this.clipnorm, global_clipnorm: this.globalClipnorm, clipvalue: this.clipvalue,
      use_ema: false, ema_momentum: 0.99, ema_overwrite_frequency: null, loss_scale_factor: null, gradient_accumulation_steps: null,
      ...Object.fromEntries(Object.entries(cls.options).map(([k, [snake]]) => [snake, this.options[k]])),
    };
  }
}

type Own<K extends string, V = number> = OptimizerArgs & { [k in K]?: V };
/** SGD: w ← w − lr·g, or with momentum m ← μm − lr·g, w ← w + m (Nesterov: w ← w + μm − lr·g). Defaults lr 0.01. */
export const SGD = (args: Own<'momentum'> & { nesterov?: boolean } = {}) => new Optimizer('SGD', args);
/** Adam (Keras 3 epsilon placement: ε is added to √v, not to √v̂). Defaults lr 0.001, β1 0.9, β2 0.999, ε 1e-7. */
export const Adam = (args: Own<'beta1' | 'beta2' | 'epsilon'> & { amsgrad?: boolean } = {}) => new Optimizer('Adam', args);
/** Adam with decoupled weight decay (default 0.004), as Keras 3 AdamW. */
export const AdamW = (args: Own<'beta1' | 'beta2' | 'epsilon'> & { amsgrad?: boolean } = {}) => new Optimizer('AdamW', args);
/** RMSprop. Defaults lr 0.001, rho 0.9, momentum 0, ε 1e-7, not centered. */
export const RMSprop = (args: Own<'rho' | 'momentum' | 'epsilon'> & { centered?: boolean } = {}) => new Optimizer('RMSprop', args);
/** Adagrad. Defaults lr 0.001, initial accumulator 0.1, ε 1e-7. */
export const Adagrad = (args: Own<'initialAccumulatorValue' | 'epsilon'> = {}) => new Optimizer('Adagrad', args);

const key = (s: string) => s.replace(/_/g, '').toLowerCase();
const BY_KEY = Object.fromEntries(Object.keys(CLASSES).map((c) => [key(c), c]));
const camel = (k: string) => ({ beta_1: 'beta1', beta_2: 'beta2' })[k] ?? k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
/** Keras 3 base keys kiln does not implement; accepted in configs only at their inert values. */
const INERT: Record<string, unknown> = { useEma: false, emaMomentum: undefined, emaOverwriteFrequency: null, lossScaleFactor: null, gradientAccumulationSteps: null, isLegacyOptimizer: false, jitCompile: undefined, decay: undefined };

/** A schedule from its Keras config `{class_name, config}` (or an instance). */
export function getSchedule(identifier: LearningRateSchedule | { className?: string; class_name?: string; config?: Record<string, unknown> }): LearningRateSchedule {
  if ('valueAt' in identifier) return identifier;
  const name = String(identifier.className ?? identifier.class_name);
  const make = SCHEDULES[key(name)];
  if (!make) throw new ModelError(`unknown learning-rate schedule '${name}'; known: ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, CosineDecay`);
  return make(identifier.config ?? {});
}

/** What `getOptimizer` accepts: a name ('adam', 'sgd', …), an Optimizer, or a config `{className | class_name, config}`. */
export type OptimizerIdentifier = string | Optimizer | { className?: string; class_name?: string; config?: Record<string, unknown> };

/** Resolves an optimizer as `model.compile({optimizer})` does, with Keras defaults for names. */
export function getOptimizer(identifier: OptimizerIdentifier): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  const name = typeof identifier === 'string' ? identifier : String(identifier.className ?? identifier.class_name);
  const className = BY_KEY[key(name)];
  if (!className) throw new ModelError(`unknown optimizer '${name}'; known: sgd, adam, adamw, rmsprop, adagrad (or their class names)`, { optimizer: name });
  if (typeof identifier === 'string') return new Optimizer(className);
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(identifier.config ?? {})) {
    const c = camel(k);
    if (c in INERT) {
      if (INERT[c] !== undefined && v !== INERT[c] && v !== undefined) throw new ModelError(`${className}: '${k}' = ${JSON.stringify(v)} is not supported`);
      continue;
    }
    args[c] = c === 'learningRate' && typeof v === 'object' && v !== null ? getSchedule(v as { class_name: string }) : v;
  }
  return new Optimizer(className, args as OptimizerArgs);
}
