import type { Model } from '../frontend/model.js';
import type { Dim } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';
import { getLoss, regularizationLoss, type LossIdentifier } from '../frontend/losses.js';
import { getMetric } from '../frontend/metrics.js';
import { getOptimizer, type OptimizerIdentifier, type Optimizer } from '../frontend/optimizers.js';
import type { SymbolicTensor } from '../frontend/symbolic.js';
import type { Precision } from '../codegen/profile.js';
import { policyPrecision } from '../frontend/policy.js';

/** A loss or metric function of symbolic tensors. */
export type LossFn = (yTrue: SymbolicTensor, yPred: SymbolicTensor) => SymbolicTensor;

/** What `model.compile` takes, as in Keras. */
export interface CompileArgs {
  optimizer: OptimizerIdentifier;
  /** One loss for every output, or one per output (list, or by output name). */
  loss: LossIdentifier | LossIdentifier[] | Record<string, LossIdentifier>;
  metrics?: (string | LossFn)[];
  /**
   * GEMM arithmetic of the compiled steps (kiln's, not a Keras argument): 'float32' (default) or 'mixed',
   * f16 operands with f32 accumulation and f32 weights, with dynamic loss scaling as Keras's
   * `LossScaleOptimizer`; without 'shader-f16' on the adapter the steps compile in float32.
   */
  precision?: Precision;
}

/** compile's arguments, resolved. */
export interface CompiledConfig {
  readonly optimizer: Optimizer;
  readonly losses: readonly LossFn[];
  readonly lossNames: readonly string[];
  readonly metrics: readonly { name: string; fn: LossFn }[];
  /** GEMM arithmetic of the compiled steps (default float32). */
  readonly precision: Precision;
  /** Target shape (batch included) for output i: sparse labels drop the class axis. */
  targetShape(i: number, outputShape: readonly Dim[]): Dim[];
  /** The weight-regularization penalty of the model, or null when no weight has a regularizer. */
  regularization(model: Model): SymbolicTensor | null;
}

/** Resolves `model.compile` arguments against a model; unknown names fail here, naming them. */
export function resolveCompileArgs(model: Model, args: CompileArgs): CompiledConfig {
  if (!args || args.loss === undefined) throw new ModelError(`model '${model.name}': compile needs a loss`, { model: model.name });
  const names = model.outputNames;
  let lossIds: LossIdentifier[];
  if (Array.isArray(args.loss)) lossIds = args.loss;
  else if (typeof args.loss === 'object' && args.loss !== null && !('className' in args.loss) && !('class_name' in args.loss)) {
    const byName = args.loss as Record<string, LossIdentifier>;
    lossIds = names.map((n) => {
      if (!(n in byName)) throw new ModelError(`model '${model.name}': no loss given for output '${n}' (losses were given for ${Object.keys(byName).join(', ')})`);
      return byName[n];
    });
  } else lossIds = names.map(() => args.loss as LossIdentifier);
  const losses = lossIds.map((id) => getLoss(id));
  const metrics = (args.metrics ?? []).map((id, k) => {
    const fn = getMetric(id as never, { loss: losses[0], outputShape: model.outputs[0].shape }) as unknown as LossFn & { kerasName?: string };
    return { name: typeof id === 'string' ? id : (fn.kerasName ?? (id as { name?: string }).name ?? `metric_${k}`), fn };
  });
  // A model whose layers carry Keras's mixed_float16 policy trains mixed unless compile says otherwise.
  const precision = args.precision ?? policyPrecision(model);
  if (precision !== 'float32' && precision !== 'mixed') throw new ModelError(`model '${model.name}': compile got precision '${String(precision)}'; use 'float32' or 'mixed'`, { model: model.name });
  return {
    precision,
    optimizer: getOptimizer(args.optimizer),
    losses,
    lossNames: losses.map((l) => l.kerasName),
    metrics,
    targetShape: (i, shape) => (losses[i].kerasName === 'sparse_categorical_crossentropy' ? shape.slice(0, -1) : [...shape]),
    regularization: (m) => {
      const vars = m.trainableWeights.filter((v) => v.regularizer);
      return vars.length ? regularizationLoss(vars) : null;
    },
  };
}
