// The bench MLP: 28×28 images flattened to 784 values → Dense 512 relu → Dropout .2 → Dense 512 relu
// → Dropout .2 → Dense 10 softmax, as a Sequential model. `kiln summary samples/mlp.ts` ends with
// "Total params: 669,706"; `kiln demo` runs it on Fashion-MNIST.
import { Sequential, layers } from 'kiln';

export const model = new Sequential({
  name: 'mlp',
  layers: [
    layers.Dense(512, { activation: 'relu', inputShape: [784] }),
    layers.Dropout(0.2),
    layers.Dense(512, { activation: 'relu' }),
    layers.Dropout(0.2),
    layers.Dense(10, { activation: 'softmax' }),
  ],
});
