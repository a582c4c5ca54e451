import type { Model } from '../frontend/model.js';
import { Input } from '../frontend/input.js';
import * as ops from '../frontend/ops.js';
import { traceGraph } from '../frontend/trace.js';
import type { SymbolicTensor } from '../frontend/symbolic.js';
import { ModelError } from '../ir/errors.js';
import { weightValues } from '../frontend/trace.js';
import type { Program } from '../passes/program.js';
import type { LossFn } from './config.js';
import type { CompiledConfig } from './config.js';

/** The traced training objective: the program (loss and metrics as outputs) and what it contains. */
export interface TrainingObjective {
  readonly program: Program;
  /** Graph input names of the targets, one per model output. */
  readonly targets: readonly string[];
  /** Names of the metric outputs, in order (Keras's log keys, without `loss`). */
  readonly metrics: readonly string[];
  /** Trainable weight names (what autodiff differentiates). */
  readonly trainable: readonly string[];
}

/**
 * Traces what one training step computes before differentiation: the model on its inputs, one target
 * input per output (named `<output>_target`), the summed loss (plus weight regularization) as output
 * `loss`, and every metric as an output of its own.
 */
export function trainingObjective(model: Model, config: CompiledConfig): TrainingObjective {
  const outputs = model.outputs;
  const names = model.outputNames;
  if (config.losses.length !== outputs.length) {
    throw new ModelError(`model '${model.name}' has ${outputs.length} outputs (${names.join(', ')}), but compile got ${config.losses.length} losses`, { model: model.name });
  }
  const targets: SymbolicTensor[] = outputs.map((o, i) => Input({ batchShape: config.targetShape(i, o.shape), name: `${names[i]}_target`, dtype: 'float32' }));
  const perOutput = outputs.map((o, i) => (config.losses[i] as LossFn)(targets[i], o));
  let loss = perOutput.reduce((a, b) => ops.add(a, b));
  const reg = config.regularization(model);
  if (reg) loss = ops.add(loss, reg);
  const metricOutputs = config.metrics.flatMap((m) => outputs.map((o, i) => ({ name: outputs.length > 1 ? `${names[i]}_${m.name}` : m.name, tensor: m.fn(targets[i], o) })));
  const { graph, variables } = traceGraph({
    model: model.name,
    inputs: [...model.inputs, ...targets],
    outputs: [{ name: 'loss', tensor: loss }, ...metricOutputs.map((m) => ({ name: m.name, tensor: m.tensor }))],
    updates: model.isSubclassed ? model.calls.slice(0, 1).flatMap((c) => c.updates) : model.layerCalls.flatMap((c) => c.updates),
  });
  return {
    program: { graph, weights: weightValues(variables) },
    targets: targets.map((t) => t.name),
    metrics: metricOutputs.map((m) => m.name),
    trainable: variables.filter((v) => v.trainable).map((v) => v.name),
  };
}
