import { ModelError } from '../ir/errors.js';
import type { Layer, LayerCall } from './layer.js';
import type { SymbolicTensor } from './symbolic.js';

/** The Keras-level graph of a functional model: its layer calls in execution order, and its layers. */
export interface Network {
  readonly calls: readonly LayerCall[];
  readonly layers: readonly Layer[];
}

/**
 * Walks layer calls back from the outputs to the inputs (Keras's `_map_graph_network`): calls come
 * out level by level from the inputs, so inputs first and each call after what it reads.
 */
export function mapNetwork(modelName: string, inputs: readonly SymbolicTensor[], outputs: readonly SymbolicTensor[]): Network {
  const level = new Map<LayerCall, number>();
  const order: LayerCall[] = [];
  const inputSet = new Set(inputs);
  const visiting = new Set<LayerCall>();

  function visit(t: SymbolicTensor): number {
    const h = t.history;
    if (!h) {
      throw new ModelError(
        `model '${modelName}': tensor '${t.name}' was not made by a layer; wrap raw ops in a custom layer (or Lambda) so the model can replay them`,
        { model: modelName, tensor: t.name },
      );
    }
    const call = h.call;
    const known = level.get(call);
    if (known !== undefined) return known;
    if (visiting.has(call)) throw new ModelError(`model '${modelName}': cycle through layer '${call.layer.name}'`);
    if (call.inputs.length === 0 && !inputSet.has(t)) {
      throw new ModelError(
        `model '${modelName}': graph disconnected: cannot reach input '${call.layer.name}' from the model's inputs (${inputs.map((x) => x.name).join(', ') || 'none'})`,
        { model: modelName, input: call.layer.name },
      );
    }
    visiting.add(call);
    const depth = inputSet.has(t) ? 0 : 1 + Math.max(-1, ...call.inputs.map(visit));
    visiting.delete(call);
    level.set(call, depth);
    order.push(call);
    return depth;
  }

  inputs.forEach(visit);
  outputs.forEach(visit);
  const calls = order.map((c, i) => ({ c, i })).sort((a, b) => level.get(a.c)! - level.get(b.c)! || a.i - b.i).map((x) => x.c);
  const layers: Layer[] = [];
  for (const c of calls) if (!layers.includes(c.layer)) layers.push(c.layer);
  return { calls, layers };
}
