// A custom layer, Keras style: `Scale` subclasses layers.Layer, creates its weight in build() with
// addWeight, computes in call() with kiln's ops, and returns its options from getConfig(). It is then
// used in a model like any built-in layer, and its weight counts in the summary.
import { Input, Model, initializers, layers, ops, type LayerArgs, type LayerVariable, type Shape, type SymbolicTensor } from 'kiln';

/** Options of Scale: the initial value of every per-feature factor. */
export interface ScaleArgs extends LayerArgs {
  initialValue?: number;
}

/** Multiplies each feature (the last axis) by its own trainable factor. */
export class Scale extends layers.Layer {
  static override className = 'Scale';
  readonly initialValue: number;
  scale?: LayerVariable;

  constructor(args: ScaleArgs = {}) {
    super(args);
    this.initialValue = args.initialValue ?? 1;
  }

  override build(inputShape: Shape): void {
    const features = inputShape.at(-1) as number;
    this.scale = this.addWeight('scale', [features], initializers.constant({ value: this.initialValue }));
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    return ops.mul(x, this.scale!);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), initialValue: this.initialValue };
  }
}

const features = Input({ shape: [784], name: 'features' });
let x = layers.Dense(64, { activation: 'relu' })(features);
x = new Scale({ initialValue: 0.5, name: 'scale' })(x);
const probs = layers.Dense(10, { activation: 'softmax' })(x);

export const model = new Model({ inputs: features, outputs: probs, name: 'with_custom_layer' });
