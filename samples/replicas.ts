// Several GPUs, both ways. `model`: two replicas of one (shared) encoder, the first on /gpu:0 and
// the second on /gpu:1, their outputs concatenated on the CPU and classified (the Keras FAQ's
// device-scope example, with Dense encoders): compile(model, { devices: 'all' }) runs each part on its
// adapter, with transfers between (kiln runs the merge on gpu:0; on one GPU everything is placed on
// gpu:0 with a warning, as TensorFlow's soft placement). `classifier`: an MLP trained data-parallel,
// fit({ replicas }) splitting every batch over the adapters and averaging the gradients.
// Run it: npx tsx samples/replicas.ts
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Input, Model, Sequential, deviceScope, layers, optimizers, compile } from 'kiln';

const inputA = Input({ shape: [64], name: 'sequence_a' });
const inputB = Input({ shape: [64], name: 'sequence_b' });
/** One encoder, so both replicas share its weights. */
const sharedEncoder = layers.Dense(32, { activation: 'relu', name: 'shared_encoder' });
const encodedA = deviceScope('/gpu:0', () => sharedEncoder(inputA));
const encodedB = deviceScope('/gpu:1', () => sharedEncoder(inputB));
const merged = deviceScope('/cpu:0', () => layers.Concatenate({ name: 'merge' })([encodedA, encodedB]));
/** Two inputs, one shared encoder on two devices, merged, then a softmax over 4 classes. */
export const model = new Model({ name: 'two_towers', inputs: [inputA, inputB], outputs: layers.Dense(4, { activation: 'softmax', name: 'head' })(merged) });

/** The MLP the data-parallel run trains: 64 features → 64 relu → 4 softmax. */
export const classifier = new Sequential({
  name: 'classifier',
  layers: [layers.Dense(64, { activation: 'relu', inputShape: [64] }), layers.Dense(4, { activation: 'softmax' })],
});

/** Seeded values in [-1, 1). */
function random(n: number, seed: number): Float32Array {
  let s = seed;
  return new Float32Array(n).map(() => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
}

/** Runs the placed model, then the replicated predict and the data-parallel training run. */
export async function main(replicas: number | 'all' = 2): Promise<void> {
  const batch = 32;
  const placed = await compile(model, { batch, devices: 'all' });
  const out = await placed.predict({ sequence_a: random(batch * 64, 1), sequence_b: random(batch * 64, 2) });
  console.log(`two towers: ${Object.keys(out).map((k) => `${k}: ${out[k].length / batch} values per sample`).join(', ')}`);
  placed.destroy();

  // A labelled toy set: the class is the quadrant of the first two features.
  const count = 1024;
  const x = random(count * 64, 3);
  const y = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) y[i * 4 + (x[i * 64] > 0 ? 1 : 0) + (x[i * 64 + 1] > 0 ? 2 : 0)] = 1;

  const replicated = await compile(classifier, { batch: 256, replicas });
  const probs = await replicated.predict({ [replicated.inputs[0].name]: x.subarray(0, 256 * 64) });
  console.log(`replicated predict: ${Object.values(probs)[0].length / 4} samples gathered in order`);
  replicated.destroy();

  classifier.compile({ optimizer: optimizers.Adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const history = await classifier.fit(x, y, { batchSize: 128, epochs: 5, replicas, verbose: 0 });
  const acc = history.history.accuracy as number[];
  console.log(`data-parallel training (${replicas} replicas): accuracy ${acc[0].toFixed(3)} → ${acc[acc.length - 1].toFixed(3)} over ${acc.length} epochs`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
