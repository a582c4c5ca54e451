/**
 * Keras-compatible configs from kiln models: `{class_name, config}` in Python spelling, as Keras's
 * `to_json` and TF.js's model.json write them (functional configs with inbound nodes, Sequential
 * configs with the input shape on the first layer), so TF.js and kiln both read them back.
 */
import { ModelError } from '../../ir/errors.js';
import { InputLayer } from '../input.js';
import type { Layer, LayerCall } from '../layer.js';
import { Model } from '../model.js';
import { Sequential } from '../sequential.js';
import type { SymbolicTensor } from '../symbolic.js';
import { toPythonic, toSnakeCase, type Json } from './pythonic.js';

/** The version string written as `keras_version`, so readers can tell who wrote a file. */
export const WRITER_VERSION = 'kiln 0.1.0';

/** A nested functional model's node 0 is its own graph (Keras and TF.js count it), so outer calls start at 1. */
function nodeOffset(layer: Layer): number {
  return layer instanceof Model && !layer.isSubclassed && layer.inputs.length > 0 ? 1 : 0;
}

/** A layer's `{class_name, config}` (a model's is its full topology). */
export function layerToConfig(layer: Layer): { class_name: string; config: Json } {
  if (layer instanceof Model) return modelToConfig(layer);
  return { class_name: layer.getClassName(), config: toPythonic(layer.getConfig()) };
}

/** The model's Keras topology `{class_name, config}`; subclassed models have none (save their weights instead). */
export function modelToConfig(model: Model): { class_name: string; config: Json } {
  if (model.isSubclassed) {
    throw new ModelError(`model '${model.name}' is a subclassed model: its topology is code, not a config, so it cannot be written as JSON; save its weights and rebuild it from code`, { model: model.name });
  }
  if (model instanceof Sequential) return { class_name: 'Sequential', config: sequentialConfig(model) };
  return { class_name: 'Model', config: functionalConfig(model) };
}

function sequentialConfig(model: Sequential): Json {
  const layers = model.layers.map((l, i) => {
    const entry = layerToConfig(l) as { class_name: string; config: Record<string, Json> };
    // The first layer carries the input shape, as TF.js and Keras 2 write it.
    if (i === 0 && model.inputs.length && !(l instanceof Model)) {
      entry.config = { ...entry.config, batch_input_shape: model.inputs[0].shape, dtype: entry.config.dtype ?? 'float32' };
    }
    return entry;
  });
  if (model.inputs.length && model.layers[0] instanceof Model) {
    const t = model.inputs[0];
    layers.unshift({ class_name: 'InputLayer', config: { batch_input_shape: t.shape, dtype: t.dtype, sparse: false, name: `${model.name}_input` } });
  }
  return { name: model.name, layers } as Json;
}

/** A call's boolean options (training, useCausalMask, …) as Keras kwargs. */
function callKwargs(call: LayerCall): Json {
  const kw: Record<string, Json> = {};
  for (const [k, v] of Object.entries(call.args)) if (typeof v === 'boolean') kw[toSnakeCase(k)] = v;
  return kw;
}

function functionalConfig(model: Model): Json {
  const calls = model.layerCalls;
  const inNetwork = new Set<LayerCall>(calls);
  /** Index of a call among its layer's calls in this network, as Keras renumbers nodes. */
  const nodeIndex = (call: LayerCall): number => call.layer.calls.filter((c) => inNetwork.has(c)).indexOf(call) + nodeOffset(call.layer);
  const ref = (t: SymbolicTensor): [string, number, number] => {
    const h = t.history;
    if (!h) throw new ModelError(`model '${model.name}': tensor '${t.name}' was not made by a layer, so the model cannot be written as a config`, { model: model.name });
    return [h.call.layer.name, h.call.layer instanceof InputLayer ? 0 : nodeIndex(h.call), h.index];
  };
  const layers = model.layers.map((layer) => {
    const own = calls.filter((c) => c.layer === layer && c.inputs.length > 0);
    const inbound = own.map((c) => c.inputs.map((t) => [...ref(t), callKwargs(c)]));
    return { name: layer.name, ...layerToConfig(layer), inbound_nodes: inbound };
  });
  return {
    name: model.name,
    layers,
    input_layers: model.inputs.map(ref),
    output_layers: model.outputs.map(ref),
  } as Json;
}

/** The model as Keras's `to_json()` writes it: `{class_name, config, keras_version, backend}`. */
export function modelToJSONObject(model: Model): Record<string, Json> {
  return { ...modelToConfig(model), keras_version: WRITER_VERSION, backend: 'tensor_flow.js' };
}
