// The seed tutorial's custom attention layer, written from ops as a user's subclassed Layer: a score
// per time step e = tanh(x·W + b), weights a = softmax(e) over time, and the context Σₜ aₜ·xₜ.
// `model` puts it after an LSTM that returns its sequences, as the tutorial does; `direct` runs it
// straight on a [20, 64] sequence input.
import { Input, Model, layers, ops, type LayerArgs, type LayerVariable, type Shape, type SymbolicTensor } from 'kiln';

/** Additive attention over time: [batch, time, features] → [batch, features]. */
export class Attention extends layers.Layer {
  static override className = 'Attention';
  W?: LayerVariable;
  b?: LayerVariable;

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override build(inputShape: Shape): void {
    const [, steps, features] = inputShape as [null, number, number];
    this.W = this.addWeight('attention_weight', [features, 1], 'randomNormal');
    this.b = this.addWeight('attention_bias', [steps, 1], 'zeros');
  }

  override call(x: SymbolicTensor): SymbolicTensor {
    const e = ops.squeeze(ops.tanh(ops.add(ops.matmul(x, this.W!), this.b!)), -1); // [batch, time]
    const a = ops.expandDims(ops.softmax(e, -1), -1); // [batch, time, 1]
    return ops.sum(ops.mul(x, a), 1); // [batch, features]
  }

  override computeOutputShape(inputShape: Shape): Shape {
    return [inputShape[0], inputShape[2]];
  }
}

const sequence = Input({ shape: [20, 64], name: 'sequence' });
const states = layers.LSTM(32, { returnSequences: true, name: 'lstm' })(sequence);
const context = new Attention({ name: 'attention' })(states);
export const model = new Model({ inputs: sequence, outputs: layers.Dense(10, { activation: 'softmax' })(context), name: 'lstm_attention' });

const raw = Input({ shape: [20, 64], name: 'raw_sequence' });
const rawContext = new Attention({ name: 'direct_attention' })(raw);
export const direct = new Model({ inputs: raw, outputs: layers.Dense(10, { activation: 'softmax' })(rawContext), name: 'attention_classifier' });
