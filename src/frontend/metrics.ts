/**
 * Keras metrics as functions of symbolic tensors, built from ops: each returns the batch mean as a
 * scalar symbolic tensor (the fit loop averages batches on the host, as Keras's `Mean` state does).
 * Formulas follow Keras 3 (`keras/src/metrics/accuracy_metrics.py`).
 */
import { ModelError } from '../ir/errors.js';
import type { Dim } from '../ir/types.js';
import { SymbolicTensor } from './symbolic.js';
import { argMax, equal, greater, less, mul, oneHot, sum } from './ops.js';
import {
  binaryCrossentropy, categoricalCrossentropy, family, float, getLoss, lastDim, LOSS_NAMES, meanAbsoluteError, meanSquaredError,
  sparseCategoricalCrossentropy, sparseLabels, type Loss, type LossFactory, type LossIdentifier,
} from './losses.js';

/** A metric: (yTrue, yPred) → scalar batch mean, with its Keras class and name. Same shape as a Loss. */
export type Metric = Loss;

/** 1 where argmax(yTrue) = argmax(yPred) (one-hot labels). */
export const categoricalAccuracy = family({
  className: 'CategoricalAccuracy', kerasName: 'categorical_accuracy', defaults: {},
  perSample: (t, p) => float(equal(argMax(t, -1), argMax(p, -1))),
});

/** 1 where the integer label equals argmax(yPred); labels int32 or float, shape [batch] or [batch, 1]. */
export const sparseCategoricalAccuracy = family({
  className: 'SparseCategoricalAccuracy', kerasName: 'sparse_categorical_accuracy', defaults: {},
  perSample: (t, p) => float(equal(sparseLabels(t, p), argMax(p, -1))),
});

/** Mean over the last axis of [yTrue = (yPred > threshold)]. */
export const binaryAccuracy = family<{ threshold?: number }>({
  className: 'BinaryAccuracy', kerasName: 'binary_accuracy', defaults: { threshold: 0.5 },
  perSample: (t, p, o) => float(equal(float(t), float(greater(p, o.threshold)))),
});

/**
 * 1 where the true class is among the k best: fewer than k classes score strictly above it. Ties
 * count in the true class's favour, as TF's `in_top_k` and Keras 3's `ops.in_top_k` do.
 */
function inTopK(oneHotTrue: SymbolicTensor, p: SymbolicTensor, k: number): SymbolicTensor {
  const trueScore = sum(mul(oneHotTrue, p), -1, true);
  return float(less(sum(float(greater(p, trueScore)), -1), k));
}

/** Whether argmax(yTrue) is in the top k of yPred. */
export const topKCategoricalAccuracy = family<{ k?: number }>({
  className: 'TopKCategoricalAccuracy', kerasName: 'top_k_categorical_accuracy', defaults: { k: 5 },
  perSample: (t, p, o) => inTopK(oneHot(argMax(t, -1), lastDim(p, 'topKCategoricalAccuracy')), p, o.k),
});

/** Whether the integer label is in the top k of yPred. */
export const sparseTopKCategoricalAccuracy = family<{ k?: number }>({
  className: 'SparseTopKCategoricalAccuracy', kerasName: 'sparse_top_k_categorical_accuracy', defaults: { k: 5 },
  perSample: (t, p, o) => inTopK(oneHot(sparseLabels(t, p), lastDim(p, 'sparseTopKCategoricalAccuracy')), p, o.k),
});

export { meanSquaredError, meanAbsoluteError };
/** Alias of meanSquaredError. */
export const mse = meanSquaredError;
/** Alias of meanAbsoluteError. */
export const mae = meanAbsoluteError;

/** What `'accuracy'` (and `'crossentropy'`) resolve against: the compiled loss and the shapes of targets and predictions. */
export interface MetricContext {
  readonly loss?: LossIdentifier | null;
  /** The model output's shape (yPred). */
  readonly outputShape?: readonly Dim[];
  /** The targets' shape (yTrue), when known. */
  readonly targetShape?: readonly Dim[];
}

/** Which concrete accuracy `'accuracy'` means. */
export type AccuracyKind = 'binary' | 'sparse_categorical' | 'categorical';

/**
 * Keras's `'accuracy'` resolution. Binary when the output has one unit (Keras) or the loss is binary
 * crossentropy (TF.js, so multi-label sigmoid outputs get binary accuracy); sparse when the loss is
 * sparse categorical crossentropy (TF.js) or the targets have lower rank or a last axis of 1 against a
 * wider output (Keras 3 `is_binary_or_sparse_categorical`); categorical otherwise.
 */
export function resolveAccuracy(ctx: MetricContext): AccuracyKind {
  const loss = ctx.loss ? getLoss(ctx.loss).kerasName : undefined;
  const pLast = ctx.outputShape?.at(-1);
  if (pLast === 1 || loss === 'binary_crossentropy') return 'binary';
  if (loss === 'sparse_categorical_crossentropy') return 'sparse_categorical';
  const t = ctx.targetShape;
  if (t && ctx.outputShape && (t.length < ctx.outputShape.length || (t.at(-1) === 1 && pLast !== 1))) return 'sparse_categorical';
  return 'categorical';
}

const ACCURACY: Record<AccuracyKind, LossFactory<never>> = {
  binary: binaryAccuracy, sparse_categorical: sparseCategoricalAccuracy, categorical: categoricalAccuracy,
};
const CROSSENTROPY: Record<AccuracyKind, LossFactory<never>> = {
  binary: binaryCrossentropy, sparse_categorical: sparseCategoricalCrossentropy, categorical: categoricalCrossentropy,
};

/** The same metric under another logged name (`'acc'`, `'accuracy'`). */
function renamed(m: Metric, name: string): Metric {
  return Object.assign((t: SymbolicTensor, p: SymbolicTensor) => m(t, p), { className: m.className, kerasName: name, getConfig: () => ({ ...m.getConfig(), name }) });
}

/**
 * `'accuracy'` as a metric whose kind is picked when it is called, from the loss in `ctx` and the
 * shapes it is called on. (Unlike Keras 3's exact-match `metrics.accuracy`, this is what the string means.)
 */
function resolving(table: Record<AccuracyKind, LossFactory<never>>, name: string, ctx: MetricContext): Metric {
  const pick = (t: readonly Dim[] | undefined, p: readonly Dim[] | undefined) => {
    const kind = resolveAccuracy({ ...ctx, targetShape: t ?? ctx.targetShape, outputShape: p ?? ctx.outputShape });
    const fromLogits = table === CROSSENTROPY && ctx.loss ? getLoss(ctx.loss).getConfig().from_logits === true : false;
    return renamed(fromLogits ? (table[kind] as unknown as (o: object) => Metric)({ fromLogits }) : table[kind](), name);
  };
  const known = ctx.outputShape ? pick(undefined, undefined) : undefined;
  const fn = (t: SymbolicTensor, p: SymbolicTensor) => (known ?? pick(t.shape, p.shape))(t, p);
  return Object.assign(fn, {
    className: known?.className ?? 'Accuracy', kerasName: name,
    getConfig: () => known?.getConfig() ?? { name },
  });
}

/** `accuracy(options)` or `accuracy(yTrue, yPred)`: Keras's `'accuracy'`, resolved by `resolveAccuracy` from the loss and shapes. */
export const accuracy = Object.assign(
  (a?: { loss?: LossIdentifier | null } | SymbolicTensor, b?: SymbolicTensor): Metric | SymbolicTensor =>
    a instanceof SymbolicTensor ? resolving(ACCURACY, 'accuracy', {})(a, b!) : resolving(ACCURACY, 'accuracy', a ?? {}),
  { className: 'Accuracy', kerasName: 'accuracy' },
) as LossFactory<{ loss?: LossIdentifier | null }>;

const key = (s: string) => s.replace(/_/g, '').toLowerCase();
const TABLE: Record<string, LossFactory<never>> = {};
for (const [f, ...aliases] of [
  [categoricalAccuracy], [sparseCategoricalAccuracy], [binaryAccuracy],
  [topKCategoricalAccuracy, 'top_k_accuracy'], [sparseTopKCategoricalAccuracy],
] as [LossFactory<never>, ...string[]][]) {
  for (const k of [f.kerasName, f.className, ...aliases]) TABLE[key(k)] = f;
}

/** Names `getMetric` accepts, besides every loss name. */
export const METRIC_NAMES: readonly string[] = ['accuracy', 'acc', 'crossentropy', 'ce', ...new Set(Object.values(TABLE).map((f) => f.kerasName))];

/** What `getMetric` accepts: a name, a Metric, a factory, or any (yTrue, yPred) function. */
export type MetricIdentifier = LossIdentifier;

/**
 * Resolves a metric as `model.compile({metrics})` does. `'accuracy'`/`'acc'` and `'crossentropy'`/`'ce'`
 * pick binary, sparse or categorical from `ctx` (the crossentropy also takes the loss's `from_logits`);
 * other names are metrics or losses. Unknown names are a ModelError listing both.
 */
export function getMetric(identifier: MetricIdentifier, ctx: MetricContext = {}): Metric {
  if (typeof identifier !== 'string') return getLoss(identifier);
  const k = key(identifier);
  if (k === 'accuracy' || k === 'acc') return resolving(ACCURACY, identifier, ctx);
  if (k === 'crossentropy' || k === 'ce') return resolving(CROSSENTROPY, identifier, ctx);
  if (TABLE[k]) return TABLE[k]();
  try {
    return getLoss(identifier);
  } catch {
    throw new ModelError(`unknown metric '${identifier}'; known: ${METRIC_NAMES.join(', ')}, any loss (${LOSS_NAMES.join(', ')}), or a function (yTrue, yPred) => scalar`, { metric: identifier });
  }
}
