// Two things about weights and names. `siamese`: one Dense layer applied to two inputs shares one
// kernel and bias (reusing a layer instance reuses its weights); the two embeddings are merged with
// Add. `scoped`: layers created under nameScope('block1') name their weights block1/fc/kernel.
// The file exports two models, so the CLI needs --export: `kiln summary samples/shared_weights.ts --export siamese`.
import { Input, Model, layers, nameScope } from 'kiln';

const left = Input({ shape: [784], name: 'left' });
const right = Input({ shape: [784], name: 'right' });
const encoder = layers.Dense(64, { activation: 'relu', name: 'encoder' });
const merged = layers.Add({ name: 'merge' })([encoder(left), encoder(right)]);
const probs = layers.Dense(10, { activation: 'softmax', name: 'probs' })(merged);

/** Both inputs go through the same `encoder` weights: 784·64 + 64 parameters, counted once. */
export const siamese: Model = new Model({ inputs: [left, right], outputs: probs, name: 'siamese' });

/** Weights made inside a name scope carry it: this model's Dense weights are block1/fc/kernel and block1/fc/bias. */
export const scoped: Model = nameScope('block1', () => {
  const x = Input({ shape: [16], name: 'block1_in' });
  const y = layers.Dense(8, { name: 'fc' })(x);
  return new Model({ inputs: x, outputs: y, name: 'block1_model' });
});
