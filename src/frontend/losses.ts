/**
 * Keras losses as functions of symbolic tensors, built from ops only so they trace into the training
 * graph and fuse like any other ops. Each reduces per-sample losses to their mean over the batch
 * (Keras's default `'sum_over_batch_size'` reduction). Formulas follow Keras 3 (`keras/src/losses/losses.py`),
 * with its probability clipping epsilon 1e-7.
 */
import { ModelError } from '../ir/errors.js';
import { currentOpPrefix, SymbolicTensor, withOpPrefix } from './symbolic.js';
import type { LayerVariable } from './variables.js';
import {
  abs, add, cast, constant, div, equal, greater, log, logicalOr, logSoftmax, maximum, mean, min, minimum, mul, neg, oneHot,
  relu, reshape, softplus, square, squaredDifference, sub, sum, max, where,
} from './ops.js';

/** Keras's `backend.epsilon()`: probabilities are clipped to [ε, 1 − ε] before a log. */
export const EPSILON = 1e-7;

/** A loss or metric: (yTrue, yPred) → scalar mean over the batch, with its Keras identity. */
export interface Loss {
  (yTrue: SymbolicTensor, yPred: SymbolicTensor): SymbolicTensor;
  /** Keras class name, e.g. `'CategoricalCrossentropy'`. */
  readonly className: string;
  /** Keras function name, e.g. `'categorical_crossentropy'` (metrics logs and `'accuracy'` resolution read it). */
  readonly kerasName: string;
  /** Keras 3 config: `name`, `reduction` and the options in snake_case. */
  getConfig(): Record<string, unknown>;
}

/**
 * A loss family: `f(options)` makes a configured Loss; `f(yTrue, yPred)` computes it with defaults,
 * so `losses.meanSquaredError` can be passed where a loss function is expected, as in TF.js.
 */
export interface LossFactory<O extends object = object> {
  (options?: O): Loss;
  (yTrue: SymbolicTensor, yPred: SymbolicTensor): SymbolicTensor;
  readonly className: string;
  readonly kerasName: string;
}

/** One row of a loss/metric table: per-sample value (reduced over the last axis) from (yTrue, yPred, options). */
export interface FamilyDef<O extends object> {
  readonly className: string;
  readonly kerasName: string;
  readonly defaults: Required<O>;
  readonly perSample: (yTrue: SymbolicTensor, yPred: SymbolicTensor, o: Required<O>) => SymbolicTensor;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Builds a LossFactory from its table row; the batch mean and an op-name scope are added here. */
export function family<O extends object>(def: FamilyDef<O>): LossFactory<O> {
  const make = (options: O | undefined): Loss => {
    const o = { ...def.defaults, ...(options ?? {}) } as Required<O>;
    for (const k of Object.keys(options ?? {})) {
      if (!(k in def.defaults)) throw new ModelError(`${def.className}: unknown option '${k}'; known: ${Object.keys(def.defaults).join(', ') || 'none'}`, { option: k });
    }
    const fn = (yTrue: SymbolicTensor, yPred: SymbolicTensor) =>
      withOpPrefix(`${currentOpPrefix()}${def.kerasName}/`, () => mean(def.perSample(yTrue, yPred, o)));
    const config = () => ({ name: def.kerasName, reduction: 'sum_over_batch_size', ...Object.fromEntries(Object.entries(o).map(([k, v]) => [snake(k), v])) });
    return Object.assign(fn, { className: def.className, kerasName: def.kerasName, getConfig: config });
  };
  const f = (a?: O | SymbolicTensor, b?: SymbolicTensor) => (a instanceof SymbolicTensor ? make(undefined)(a, b!) : make(a));
  return Object.assign(f, { className: def.className, kerasName: def.kerasName }) as LossFactory<O>;
}

/** x as float32 (labels may come as int32 or bool). */
export const float = (x: SymbolicTensor) => (x.dtype === 'float32' ? x : cast(x, 'float32'));
/** Clips elementwise to [lo, hi]. */
export const clip = (x: SymbolicTensor, lo: number, hi: number) => minimum(maximum(x, lo), hi);

/** The static size of the last axis (the class count); it must be known. */
export function lastDim(x: SymbolicTensor, who: string): number {
  const d = x.shape.at(-1);
  if (typeof d !== 'number') throw new ModelError(`${who}: the last axis of ${x} must have a known size (the number of classes)`);
  return d;
}

/** Integer class ids from sparse labels: a trailing axis of 1 is dropped (as Keras squeezes it), floats are cast. */
export function sparseLabels(yTrue: SymbolicTensor, yPred: SymbolicTensor): SymbolicTensor {
  let t = yTrue;
  if (t.rank === yPred.rank && t.shape.at(-1) === 1) t = reshape(t, t.shape.slice(0, -1).map((d) => d ?? -1));
  return t.dtype === 'int32' ? t : cast(t, 'int32');
}

/**
 * log of class probabilities: log-softmax of logits, or the log of predictions renormalized and clipped
 * (Keras 3). Predictions that a softmax over the last axis made are read as its logits, as Keras's
 * TensorFlow backend does: exact where clipping would bite, and a few kernels fewer per training step.
 */
function logProbs(yPred: SymbolicTensor, fromLogits: boolean): SymbolicTensor {
  if (fromLogits) return logSoftmax(yPred, -1);
  const axis = yPred.node.attrs.axis as number | undefined;
  if (yPred.node.op === 'softmax' && (axis === -1 || axis === yPred.rank - 1)) return logSoftmax(yPred.node.inputs[0], -1);
  return log(clip(div(yPred, sum(yPred, -1, true)), EPSILON, 1 - EPSILON));
}

/** Keras 3 `convert_binary_labels_to_hinge`: labels all in {0, 1} become {−1, 1}; others pass unchanged. */
function hingeLabels(yTrue: SymbolicTensor): SymbolicTensor {
  const t = float(yTrue);
  const isBinary = greater(min(float(logicalOr(equal(t, 0), equal(t, 1)))), 0.5);
  return where(isBinary, sub(mul(t, 2), 1), t);
}

const hingeMargin = (t: SymbolicTensor, p: SymbolicTensor) => relu(sub(1, mul(hingeLabels(t), p)));

/** `-Σ y·log p` over classes; `labelSmoothing` mixes y with the uniform distribution. */
export const categoricalCrossentropy = family<{ fromLogits?: boolean; labelSmoothing?: number }>({
  className: 'CategoricalCrossentropy', kerasName: 'categorical_crossentropy', defaults: { fromLogits: false, labelSmoothing: 0 },
  perSample: (t, p, o) => {
    let y = float(t);
    if (o.labelSmoothing) y = add(mul(y, 1 - o.labelSmoothing), o.labelSmoothing / lastDim(p, 'categoricalCrossentropy'));
    return neg(sum(mul(y, logProbs(p, o.fromLogits)), -1));
  },
});

/** Categorical crossentropy with integer class ids (int32 or float labels, shape [batch] or [batch, 1]). */
export const sparseCategoricalCrossentropy = family<{ fromLogits?: boolean }>({
  className: 'SparseCategoricalCrossentropy', kerasName: 'sparse_categorical_crossentropy', defaults: { fromLogits: false },
  perSample: (t, p, o) => neg(sum(mul(oneHot(sparseLabels(t, p), lastDim(p, 'sparseCategoricalCrossentropy')), logProbs(p, o.fromLogits)), -1)),
});

/** Mean over the last axis of `−y·log p − (1−y)·log(1−p)`; with logits, the stable `relu(x) − x·y + softplus(−|x|)`. */
export const binaryCrossentropy = family<{ fromLogits?: boolean; labelSmoothing?: number }>({
  className: 'BinaryCrossentropy', kerasName: 'binary_crossentropy', defaults: { fromLogits: false, labelSmoothing: 0 },
  perSample: (t, p, o) => {
    let y = float(t);
    if (o.labelSmoothing) y = add(mul(y, 1 - o.labelSmoothing), 0.5 * o.labelSmoothing);
    if (o.fromLogits) return mean(add(sub(relu(p), mul(p, y)), softplus(neg(abs(p)))), -1);
    const q = clip(p, EPSILON, 1 - EPSILON);
    return mean(neg(add(mul(y, log(q)), mul(sub(1, y), log(sub(1, q))))), -1);
  },
});

/** Mean over the last axis of (yPred − yTrue)². */
export const meanSquaredError = family({ className: 'MeanSquaredError', kerasName: 'mean_squared_error', defaults: {}, perSample: (t, p) => mean(squaredDifference(p, float(t)), -1) });
/** Mean over the last axis of |yPred − yTrue|. */
export const meanAbsoluteError = family({ className: 'MeanAbsoluteError', kerasName: 'mean_absolute_error', defaults: {}, perSample: (t, p) => mean(abs(sub(p, float(t))), -1) });
/** 100 · mean |(yTrue − yPred) / max(|yTrue|, ε)|. */
export const meanAbsolutePercentageError = family({
  className: 'MeanAbsolutePercentageError', kerasName: 'mean_absolute_percentage_error', defaults: {},
  perSample: (t, p) => mul(mean(abs(div(sub(float(t), p), maximum(abs(float(t)), EPSILON))), -1), 100),
});
/** mean (log(max(yPred, ε) + 1) − log(max(yTrue, ε) + 1))². */
export const meanSquaredLogarithmicError = family({
  className: 'MeanSquaredLogarithmicError', kerasName: 'mean_squared_logarithmic_error', defaults: {},
  perSample: (t, p) => mean(squaredDifference(log(add(maximum(p, EPSILON), 1)), log(add(maximum(float(t), EPSILON), 1))), -1),
});

/** Quadratic within `delta` of the target, linear beyond: ½e² if |e| ≤ δ, else δ|e| − ½δ². */
export const huber = family<{ delta?: number }>({
  className: 'Huber', kerasName: 'huber_loss', defaults: { delta: 1 },
  perSample: (t, p, { delta }) => {
    const e = sub(p, float(t));
    const a = abs(e);
    return mean(where(greater(a, delta), sub(mul(a, delta), 0.5 * delta * delta), mul(square(e), 0.5)), -1);
  },
});

/** log(cosh(e)) computed as e + softplus(−2e) − log 2. */
export const logCosh = family({
  className: 'LogCosh', kerasName: 'log_cosh', defaults: {},
  perSample: (t, p) => {
    const e = sub(p, float(t));
    return mean(sub(add(e, softplus(mul(e, -2))), Math.LN2), -1);
  },
});

/** Σ y·log(y / p) over the last axis, both clipped to [ε, 1]. */
export const kullbackLeiblerDivergence = family({
  className: 'KLDivergence', kerasName: 'kl_divergence', defaults: {},
  perSample: (t, p) => {
    const y = clip(float(t), EPSILON, 1);
    return sum(mul(y, log(div(y, clip(p, EPSILON, 1)))), -1);
  },
});

/** mean (yPred − yTrue·log(yPred + ε)). */
export const poisson = family({ className: 'Poisson', kerasName: 'poisson', defaults: {}, perSample: (t, p) => mean(sub(p, mul(float(t), log(add(p, EPSILON)))), -1) });

/** mean max(1 − y·p, 0); labels in {0, 1} are mapped to {−1, 1} first, as Keras 3 does. */
export const hinge = family({ className: 'Hinge', kerasName: 'hinge', defaults: {}, perSample: (t, p) => mean(hingeMargin(t, p), -1) });
/** mean max(1 − y·p, 0)², with hinge's label mapping. */
export const squaredHinge = family({ className: 'SquaredHinge', kerasName: 'squared_hinge', defaults: {}, perSample: (t, p) => mean(square(hingeMargin(t, p)), -1) });
/** max(max((1 − y)·p) − Σ y·p + 1, 0) over the classes. */
export const categoricalHinge = family({
  className: 'CategoricalHinge', kerasName: 'categorical_hinge', defaults: {},
  perSample: (t, p) => relu(add(sub(max(mul(sub(1, float(t)), p), -1), sum(mul(float(t), p), -1)), 1)),
});

/** Every loss by its keys (lowercase, underscores dropped): Keras snake_case, camelCase, class names, aliases. */
const TABLE: Record<string, LossFactory<never>> = {};
const register = (f: LossFactory<never>, ...aliases: string[]) => {
  for (const k of [f.kerasName, f.className, ...aliases]) TABLE[key(k)] = f;
};
const key = (s: string) => s.replace(/_/g, '').toLowerCase();
register(categoricalCrossentropy);
register(sparseCategoricalCrossentropy);
register(binaryCrossentropy);
register(meanSquaredError, 'mse');
register(meanAbsoluteError, 'mae');
register(meanAbsolutePercentageError, 'mape');
register(meanSquaredLogarithmicError, 'msle');
register(huber, 'huber');
register(logCosh, 'logcosh');
register(kullbackLeiblerDivergence, 'kld', 'kullback_leibler_divergence');
register(poisson);
register(hinge);
register(squaredHinge);
register(categoricalHinge);

/** Names `getLoss` accepts (snake_case; camelCase and class names work too). */
export const LOSS_NAMES: readonly string[] = [...new Set(Object.values(TABLE).map((f) => f.kerasName))].concat(['mse', 'mae', 'mape', 'msle', 'kld', 'huber']);

/** What `getLoss` accepts: a name, a Loss, a LossFactory, any (yTrue, yPred) function, or `{className, config}`. */
export type LossIdentifier = string | Loss | LossFactory<never> | ((yTrue: SymbolicTensor, yPred: SymbolicTensor) => SymbolicTensor) | { className?: string; class_name?: string; config?: Record<string, unknown> };

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Resolves a loss as `model.compile({loss})` does; an unknown name is a ModelError listing the known ones. */
export function getLoss(identifier: LossIdentifier): Loss {
  if (typeof identifier === 'string') return lookup(identifier)();
  if (typeof identifier === 'function') {
    const f = identifier as Partial<Loss> & ((t: SymbolicTensor, p: SymbolicTensor) => SymbolicTensor);
    if ('getConfig' in f && typeof f.getConfig === 'function') return f as Loss;
    if (typeof f.className === 'string') return (f as unknown as LossFactory<never>)();
    const name = f.name || 'custom_loss';
    return Object.assign((t: SymbolicTensor, p: SymbolicTensor) => f(t, p), { className: 'LossFunctionWrapper', kerasName: name, getConfig: () => ({ name, reduction: 'sum_over_batch_size' }) });
  }
  if (identifier && typeof identifier === 'object') {
    const name = identifier.className ?? identifier.class_name;
    const cfg = Object.fromEntries(Object.entries(identifier.config ?? {}).filter(([k]) => k !== 'name' && k !== 'reduction' && k !== 'dtype').map(([k, v]) => [camel(k), v]));
    return (lookup(String(name)) as unknown as (o: object) => Loss)(cfg);
  }
  return lookup(String(identifier))();
}

function lookup(name: string): LossFactory<never> {
  const f = TABLE[key(name)];
  if (!f) throw new ModelError(`unknown loss '${name}'; known: ${LOSS_NAMES.join(', ')}, or a function (yTrue, yPred) => scalar`, { loss: name });
  return f;
}

/**
 * The regularization penalty of trainable weights with a regularizer, Σ l1·Σ|w| + l2·Σw², as a
 * symbolic scalar to add to the loss (Keras 3 counts trainable weights only). 0 when there is none.
 */
export function regularizationLoss(variables: readonly LayerVariable[]): SymbolicTensor {
  const terms: SymbolicTensor[] = [];
  for (const v of variables) {
    const reg = v.trainable ? v.regularizer : null;
    if (!reg) continue;
    const { l1, l2 } = reg.getConfig();
    if (l1) terms.push(mul(sum(abs(v.tensor)), l1));
    if (l2) terms.push(mul(sum(square(v.tensor)), l2));
  }
  return terms.length ? terms.reduce((a, b) => add(a, b)) : constant(0);
}
