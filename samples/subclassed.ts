// A subclassed model, Keras style: layers are fields, call() says how data flows through them. A
// subclassed model has no input shape until it is built, so the file calls build([null, 784]) (the
// batch stays unknown) before exporting it, which is what `kiln summary` and `kiln run` need.
import { Model, layers, type CallArgs, type SymbolicTensor } from 'kiln';

export class MyModel extends Model {
  hidden = layers.Dense(128, { activation: 'relu' });
  dropout = layers.Dropout(0.2);
  classifier = layers.Dense(10, { activation: 'softmax' });

  override call(inputs: SymbolicTensor | SymbolicTensor[], args: CallArgs = {}): SymbolicTensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    // `training` flows to Dropout: it drops only in the training phase.
    return this.classifier(this.dropout(this.hidden(x), args));
  }
}

export const model = new MyModel({ name: 'my_model' });
model.build([null, 784]);
