// The functional API tutorial's model: an input named 'img' of 784 values (a flattened 28×28 image),
// Dense 128 relu, Dropout .5, Dense 128 relu, Dense 10 softmax. Each layer is called on the tensor
// before it; Model({ inputs, outputs }) collects the layers between them.
import { Input, Model, layers } from 'kiln';

const inputs = Input({ shape: [784], name: 'img' });
let x = layers.Dense(128, { activation: 'relu' })(inputs);
x = layers.Dropout(0.5)(x);
x = layers.Dense(128, { activation: 'relu' })(x);
const outputs = layers.Dense(10, { activation: 'softmax' })(x);

export const model = new Model({ inputs, outputs, name: 'mnist_model' });
