import { ModelError } from '../ir/errors.js';
import { Layer, type CallArgs, type Shape } from './layer.js';
import { Input, InputLayer } from './input.js';
import { Model } from './model.js';
import { SymbolicTensor } from './symbolic.js';

/** Options of a Sequential model (TF.js style); a plain array of layers also works. */
export interface SequentialArgs {
  layers?: Layer[];
  name?: string;
}

/**
 * A plain stack of layers, as Keras's `Sequential`. With an input shape on the first layer (or an
 * `Input` added first) it is built as layers are added; otherwise on its first call or `build`.
 */
export class Sequential extends Model {
  static override className = 'Sequential';
  private stack: Layer[] = [];
  private input?: SymbolicTensor;

  constructor(args: Layer[] | SequentialArgs = {}) {
    const opts = Array.isArray(args) ? { layers: args } : args;
    super({ name: opts.name });
    for (const layer of opts.layers ?? []) this.add(layer);
  }

  override get isSubclassed(): boolean {
    return false;
  }

  /** Appends a layer (or an `Input` tensor as the first entry). */
  add(layer: Layer | SymbolicTensor): void {
    if (layer instanceof SymbolicTensor) {
      if (this.stack.length || this.input) throw new ModelError(`Sequential '${this.name}': an Input can only be added first`);
      this.input = layer;
      return;
    }
    if (!(layer instanceof Layer)) throw new ModelError(`Sequential '${this.name}': add() takes a layer, got ${typeof layer}`);
    if (layer instanceof InputLayer) {
      this.add(layer.tensor);
      return;
    }
    this.stack.push(layer);
    if (!this.input && this.stack.length === 1 && layer.batchInputShape) this.input = Input({ batchShape: layer.batchInputShape });
    if (this.input) this.rebuild(this.input);
  }

  /** Removes the last layer. */
  pop(): void {
    if (!this.stack.pop()) throw new ModelError(`Sequential '${this.name}' has no layers to pop`);
    if (this.input) this.rebuild(this.input);
  }

  /** The layers as added (no InputLayer, as Keras lists them). */
  override get layers(): Layer[] {
    return [...(this.stack ?? [])];
  }

  override build(inputShape: Shape | Shape[]): void {
    if (this.input) return;
    if (Array.isArray(inputShape[0])) throw new ModelError(`Sequential '${this.name}' takes one input, got ${inputShape.length} shapes`);
    this.input = Input({ batchShape: inputShape as Shape });
    this.rebuild(this.input);
  }

  override apply(inputs: SymbolicTensor | SymbolicTensor[], args: CallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    if (!this.input) {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      this.build(x.shape);
    }
    return super.apply(inputs, args);
  }

  override call(inputs: SymbolicTensor | SymbolicTensor[], args: CallArgs = {}): SymbolicTensor | SymbolicTensor[] {
    let x = Array.isArray(inputs) ? inputs[0] : inputs;
    for (const layer of this.stack) x = layer.apply(x, args) as SymbolicTensor;
    return x;
  }

  private rebuild(input: SymbolicTensor): void {
    let x = input;
    for (const layer of this.stack) {
      const out = layer.calls.find((c) => c.inputs[0] === x)?.outputs ?? [layer.apply(x)].flat();
      if (out.length !== 1) throw new ModelError(`Sequential '${this.name}': layer '${layer.name}' has ${out.length} outputs; every layer of a Sequential model must have one`);
      x = out[0];
    }
    this.setEndpoints([input], [x]);
  }

  override getConfig(): Record<string, unknown> {
    return { name: this.name, layers: this.stack.map((l) => ({ className: l.getClassName(), config: l.getConfig() })) };
  }
}
