import type { Graph } from '../ir/types.js';
import { formatShape, ModelError, ShapeError } from '../ir/errors.js';
import type { NDArray } from '../ir/ndarray.js';
import { Layer, type CallArgs, type LayerArgs, type LayerCall, type Shape } from './layer.js';
import { Input } from './input.js';
import { mapNetwork, type Network } from './network.js';
import type { SymbolicTensor } from './symbolic.js';
import { traceGraph, weightValues, type Traced } from './trace.js';
import type { LayerVariable } from './variables.js';
import { summary } from './summary.js';

/** Arguments of a functional model: `new Model({ inputs, outputs })`. */
export interface ModelArgs extends LayerArgs {
  inputs?: SymbolicTensor | SymbolicTensor[];
  outputs?: SymbolicTensor | SymbolicTensor[];
}

/**
 * A model, as Keras's `Model`: functional (built from inputs and outputs), or subclassed (a `call`
 * method using layers held as fields, built on its first call). A model is a layer, so it can be
 * called on tensors and nested in other models.
 */
export class Model extends Layer {
  static override className = 'Model';
  /** The model's input tensors (for a subclassed model: those of its first call). */
  inputs!: SymbolicTensor[];
  outputs!: SymbolicTensor[];
  protected network?: Network;

  constructor(args: ModelArgs = {}) {
    super(args);
    this.inputs = [];
    this.outputs = [];
    if (args.inputs !== undefined || args.outputs !== undefined) {
      if (args.inputs === undefined || args.outputs === undefined) {
        throw new ModelError(`model '${this.name}': a functional model needs both inputs and outputs`, { model: this.name });
      }
      this.setEndpoints(asList(args.inputs), asList(args.outputs));
    }
  }

  /** Whether the model is defined by `call` in a subclass rather than by inputs and outputs. */
  get isSubclassed(): boolean {
    return Object.getPrototypeOf(this).call !== Model.prototype.call;
  }

  /** Fixes the model's graph: maps the layer network between inputs and outputs and checks names. */
  protected setEndpoints(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): void {
    this.network = mapNetwork(this.name, inputs, outputs);
    this.inputs = inputs;
    this.outputs = outputs;
    this.built = true;
    const seen = new Map<string, Layer>();
    for (const layer of this.layers) {
      const other = seen.get(layer.name);
      if (other && other !== layer) {
        throw new ModelError(`model '${this.name}': two different layers are named '${layer.name}'; layer names must be unique in a model`, { model: this.name });
      }
      seen.set(layer.name, layer);
    }
  }

  /** The model's layers: its network's (inputs included) for functional models, its layer fields for subclassed ones. */
  get layers(): Layer[] {
    if (this.isSubclassed) return trackedLayers(this);
    return [...(this.network?.layers ?? [])];
  }

  /** Finds a layer by name (or by index), as `model.getLayer`. */
  getLayer(name: string | number): Layer {
    const layers = this.layers;
    const layer = typeof name === 'number' ? layers[name] : layers.find((l) => l.name === name);
    if (!layer) throw new ModelError(`model '${this.name}' has no layer ${JSON.stringify(name)} (layers: ${layers.map((l) => l.name).join(', ')})`);
    return layer;
  }

  /** Layer calls in execution order (empty for a subclassed model). */
  get layerCalls(): readonly LayerCall[] {
    return this.network?.calls ?? [];
  }

  override get trainable(): boolean {
    return super.trainable;
  }
  /** Freezing a model freezes every layer in it, as in Keras. */
  override set trainable(value: boolean) {
    super.trainable = value;
    for (const layer of this.layers ?? []) if (layer !== this) layer.trainable = value;
  }

  override allWeights(): LayerVariable[] {
    const all = [...this.ownWeights];
    for (const layer of this.layers) {
      for (const w of layer.allWeights()) if (!all.includes(w)) all.push(w);
    }
    return all;
  }

  /** Builds a subclassed model for an input shape (with the batch), as `model.build((None, 784))`. */
  override build(inputShape: Shape | Shape[]): void {
    if (!this.isSubclassed || this.outputs.length) return;
    const many = Array.isArray(inputShape[0]);
    const shapes = (many ? inputShape : [inputShape]) as Shape[];
    const inputs = shapes.map((s) => Input({ batchShape: s }));
    this.apply(many ? inputs : inputs[0]);
  }

  override apply(inputs: SymbolicTensor | SymbolicTensor[], args: CallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    if (!this.isSubclassed) this.checkCallInputs(asList(inputs));
    const subclassedFirst = this.isSubclassed && !this.outputs.length;
    if (subclassedFirst) this.built = true;
    const out = super.apply(inputs, args);
    if (subclassedFirst) {
      this.inputs = asList(inputs);
      this.outputs = asList(out);
    }
    return out;
  }

  /** A functional model's call replays its layer calls on new inputs, sharing every weight. */
  override call(inputs: SymbolicTensor | SymbolicTensor[], args: CallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    const given = asList(inputs);
    const values = new Map<SymbolicTensor, SymbolicTensor>(this.inputs.map((t, i) => [t, given[i]]));
    for (const call of this.layerCalls) {
      if (call.inputs.length === 0) continue;
      const ins = call.inputs.map((t) => values.get(t)!);
      const callArgs = args.training === undefined ? call.args : { ...call.args, training: args.training };
      const outs = asList(call.layer.apply(call.listInput ? ins : ins[0], callArgs));
      call.outputs.forEach((t, i) => values.set(t, outs[i]));
    }
    const outs = this.outputs.map((t) => values.get(t)!);
    return outs.length === 1 ? outs[0] : outs;
  }

  private checkCallInputs(given: SymbolicTensor[]): void {
    if (given.length !== this.inputs.length) {
      throw new ModelError(`model '${this.name}' takes ${this.inputs.length} input(s), got ${given.length}`, { model: this.name });
    }
    given.forEach((t, i) => {
      const want = this.inputs[i].shape;
      if (want.length !== t.rank || want.some((d, k) => d !== null && t.shape[k] !== null && d !== t.shape[k])) {
        throw new ShapeError(`model '${this.name}' expects input ${i} of shape ${formatShape(want)}, got ${formatShape(t.shape)}`, { model: this.name });
      }
    });
  }

  /** Names of the outputs, Keras style: the names of the layers that produce them. */
  get outputNames(): string[] {
    const names: string[] = [];
    for (const t of this.outputs) {
      const base = t.history?.call.layer.name ?? t.name;
      let name = base;
      for (let k = 1; names.includes(name); k++) name = `${base}_${k}`;
      names.push(name);
    }
    return names;
  }

  /** Names of the inputs, as graph input names. */
  get inputNames(): string[] {
    return this.toTraced().graph.nodes.filter((n) => n.op === 'input').slice(0, this.inputs.length).map((n) => n.attrs.name as string);
  }

  /** The model as an IR graph (inputs, weights, outputs named after their layers, batch-norm updates). */
  toGraph(): Graph {
    return this.toTraced().graph;
  }

  /** The IR graph and the variables its weight nodes read. */
  toTraced(): Traced {
    this.requireBuilt();
    const calls = this.isSubclassed ? this.calls.slice(0, 1) : this.layerCalls;
    const updates = calls.flatMap((c) => c.updates);
    const names = this.outputNames;
    return traceGraph({ model: this.name, inputs: this.inputs, outputs: this.outputs.map((tensor, i) => ({ name: names[i], tensor })), updates });
  }

  /** Current weight values by name, the interpreter's weight map. */
  weightValues(): Map<string, NDArray> {
    return weightValues(this.toTraced().variables);
  }

  protected requireBuilt(): void {
    if (!this.outputs.length) {
      throw new ModelError(`model '${this.name}' has not been built yet: call it on an Input, or call build(shape) with the batch shape first`, { model: this.name });
    }
  }

  /** Prints Keras's summary table (to `printFn`, console.log by default) and returns it. */
  summary(printFn?: (line: string) => void): string {
    this.requireBuilt();
    return summary(this, printFn);
  }

  override getConfig(): Record<string, unknown> {
    return { name: this.name, trainable: this.trainable, layers: this.layers.map((l) => ({ className: l.getClassName(), config: l.getConfig(), name: l.name })) };
  }
}

function asList<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

/** Layers a subclassed model holds as fields (or in arrays of fields), in definition order, as Keras tracks them. */
function trackedLayers(model: Layer): Layer[] {
  const found: Layer[] = [];
  for (const key of Object.keys(model)) {
    const value = (model as unknown as Record<string, unknown>)[key];
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item instanceof Layer && item !== model && !found.includes(item)) found.push(item);
    }
  }
  return found;
}
