// A small GAN on Fashion-MNIST-shaped data (784 values in [0, 1] per image), trained with a custom
// step: `trainStep` compiles both updates (discriminator and generator) into one submit per step.
// generator: noise [32] → Dense 128 relu → Dense 784 sigmoid (a fake image).
// discriminator: image [784] → Dense 128 elu → Dense 1 (a logit: real or fake).
// dLoss = BCE(D(real), 1) + BCE(D(G(noise)), 0) trains only the discriminator (its optimizer holds only
// its weights, so the generator inside dLoss is not updated by it); gLoss = BCE(D(G(noise)), 1) trains
// only the generator. `trainGan(images, { steps, batchSize })` runs the loop.
import { Input, Model, layers, losses, ops, optimizers, trainStep } from 'kiln';

/** Size of the generator's noise input. */
export const LATENT = 32;
const IMAGE = 784;

const noiseIn = Input({ shape: [LATENT], name: 'gan_noise' });
/** Noise → image in [0, 1]. */
export const generator: Model = new Model({
  name: 'generator',
  inputs: noiseIn,
  outputs: layers.Dense(IMAGE, { activation: 'sigmoid', name: 'gen_out' })(layers.Dense(128, { activation: 'relu', name: 'gen_hidden' })(noiseIn)),
});

const imageIn = Input({ shape: [IMAGE], name: 'gan_image' });
/** Image → logit that it is real. */
export const discriminator: Model = new Model({
  name: 'discriminator',
  inputs: imageIn,
  outputs: layers.Dense(1, { name: 'disc_out' })(layers.Dense(128, { activation: 'elu', name: 'disc_hidden' })(imageIn)),
});

const bce = losses.binaryCrossentropy({ fromLogits: true });
const ones = () => ops.constant(1, [1, 1]);
const zeros = () => ops.constant(0, [1, 1]);

/** A seeded generator of standard normal values (Box–Muller on a xorshift stream). */
function normals(seed: number): (out: Float32Array) => Float32Array {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  return (out) => {
    for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    return out;
  };
}

/** Losses at the steps `trainGan` read them. */
export interface GanHistory {
  step: number[];
  dLoss: number[];
  gLoss: number[];
}

/**
 * Trains the GAN on flattened images (n × 784 values in [0, 1]): each step draws a random batch of
 * real images and of noise. Losses are read every `logEvery` steps and at the last; the trained
 * weights are copied back into `generator` and `discriminator` at the end.
 */
export async function trainGan(images: Float32Array, options: { steps: number; batchSize?: number; logEvery?: number; seed?: number; learningRate?: number }): Promise<GanHistory> {
  const batchSize = options.batchSize ?? 64;
  const count = Math.floor(images.length / IMAGE);
  if (count < 1) throw new Error(`trainGan: need at least one image of ${IMAGE} values, got ${images.length} values`);
  const lr = options.learningRate ?? 2e-4;
  const step = trainStep({
    name: 'gan_step',
    // Optimizer i minimizes the i-th loss over models[i]'s weights.
    models: [generator, discriminator],
    optimizers: [optimizers.Adam({ learningRate: lr, beta1: 0.5, name: 'g_opt' }), optimizers.Adam({ learningRate: lr, beta1: 0.5, name: 'd_opt' })],
    inputs: { noise: [LATENT], real: [IMAGE] },
    loss: ({ noise, real }) => {
      const fakeLogits = discriminator(generator(noise));
      const gLoss = bce(ones(), fakeLogits);
      const dLoss = ops.add(bce(ones(), discriminator(real)), bce(zeros(), fakeLogits));
      return { gLoss, dLoss };
    },
  });
  const noise = new Float32Array(batchSize * LATENT);
  const real = new Float32Array(batchSize * IMAGE);
  const draw = normals(options.seed ?? 1);
  let pick = (options.seed ?? 1) * 2654435761;
  const history: GanHistory = { step: [], dLoss: [], gLoss: [] };
  const logEvery = options.logEvery ?? 10;
  try {
    for (let s = 0; s < options.steps; s++) {
      for (let r = 0; r < batchSize; r++) {
        pick = (Math.imul(pick, 1103515245) + 12345) >>> 0;
        const i = pick % count;
        real.set(images.subarray(i * IMAGE, (i + 1) * IMAGE), r * IMAGE);
      }
      const read = (s + 1) % logEvery === 0 || s === options.steps - 1;
      const feeds = { noise: draw(noise), real };
      if (read) {
        const logs = await step.run(feeds, { batchSize });
        history.step.push(s + 1);
        history.dLoss.push(logs.dLoss);
        history.gLoss.push(logs.gLoss);
      } else await step.run(feeds, { batchSize, read: false });
    }
    await step.pullWeights();
  } finally {
    step.destroy();
  }
  return history;
}
