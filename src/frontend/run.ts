import { InputError } from '../ir/errors.js';
import { interpret, type Feed, type InterpretResult } from '../ir/interpreter.js';
import type { Precision } from '../ir/ndarray.js';
import type { Model } from './model.js';

/** Options of a reference run of a model. */
export interface ModelRunOptions {
  /** Learning phase: false (inference) unless set. */
  training?: boolean;
  precision?: Precision;
}

/**
 * Runs a model exactly on the reference interpreter with its current weights. Inputs are given in
 * the model's input order, or by input name. Returns outputs by name and the weight updates
 * (batch-norm moving statistics) a training run would apply.
 */
export function interpretModel(model: Model, inputs: Feed | Feed[] | Record<string, Feed>, options: ModelRunOptions = {}): InterpretResult {
  const { graph, variables } = model.toTraced();
  const names = graph.nodes.filter((n) => n.op === 'input').slice(0, model.inputs.length).map((n) => n.attrs.name as string);
  let feeds: Record<string, Feed>;
  if (Array.isArray(inputs) && (inputs.length === 0 || typeof inputs[0] !== 'number')) {
    const list = inputs as Feed[];
    if (list.length !== names.length) throw new InputError(`model '${model.name}' takes ${names.length} input(s) (${names.join(', ')}), got ${list.length}`, { model: model.name });
    feeds = Object.fromEntries(names.map((n, i) => [n, list[i]]));
  } else if (ArrayBuffer.isView(inputs) || Array.isArray(inputs) || ('shape' in (inputs as object) && 'data' in (inputs as object))) {
    feeds = { [names[0]]: inputs as Feed };
  } else {
    feeds = inputs as Record<string, Feed>;
  }
  const weights = new Map(variables.map((v) => [v.name, { shape: v.shape, dtype: v.dtype, data: v.read() }]));
  return interpret(graph, feeds, { weights, training: options.training, precision: options.precision });
}
