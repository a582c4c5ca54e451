// Peer harness from the project's shared benchmark kit (shared/bench), kept verbatim so ratios are taken against the same measurement.
// Peer baseline: the same bench models in TensorFlow.js (tfjs-layers) on its WebGPU backend,
// through Dawn's Node binding. Prints one line per model: predict and train-step times.
// Usage: node tfjs_peer.mjs [--batch 256] [--iters 20] [--models mlp,cnn,lstm,resnet] [--backend webgpu|cpu]
import { create, globals } from 'webgpu';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({ options: {
  batch: { type: 'string', default: '256' }, iters: { type: 'string', default: '20' },
  models: { type: 'string', default: 'mlp,cnn,lstm,resnet' }, backend: { type: 'string', default: 'webgpu' },
} });
Object.assign(globalThis, globals);
globalThis.navigator = { gpu: create([]) };
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
await import('@tensorflow/tfjs-backend-cpu');
const tfl = await import('@tensorflow/tfjs-layers');
await tf.setBackend(opt.backend);
await tf.ready();
if (tf.getBackend() !== opt.backend) { console.error(`backend ${opt.backend} is not available`); process.exit(1); }

// The bench models; samples of the project define the same ones.
const models = {
  mlp: () => ({ input: [784], model: tfl.sequential({ layers: [
    tfl.layers.dense({ units: 512, activation: 'relu', inputShape: [784] }),
    tfl.layers.dropout({ rate: 0.2 }),
    tfl.layers.dense({ units: 512, activation: 'relu' }),
    tfl.layers.dropout({ rate: 0.2 }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }) ] }) }),
  cnn: () => ({ input: [28, 28, 1], model: tfl.sequential({ layers: [
    tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 10, activation: 'softmax' }) ] }) }),
  lstm: () => ({ input: [20, 64], model: tfl.sequential({ layers: [
    tfl.layers.lstm({ units: 32, inputShape: [20, 64], recurrentInitializer: 'glorotUniform' }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }) ] }) }),
  resnet: () => {
    const inp = tfl.input({ shape: [32, 32, 3] });
    let x = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', useBias: false }).apply(inp);
    x = tfl.layers.batchNormalization().apply(x);
    x = tfl.layers.activation({ activation: 'relu' }).apply(x);
    for (let i = 0; i < 3; i++) {
      let y = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
      y = tfl.layers.batchNormalization().apply(y);
      y = tfl.layers.activation({ activation: 'relu' }).apply(y);
      y = tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', useBias: false }).apply(y);
      y = tfl.layers.batchNormalization().apply(y);
      x = tfl.layers.activation({ activation: 'relu' }).apply(tfl.layers.add().apply([x, y]));
    }
    x = tfl.layers.globalAveragePooling2d({}).apply(x);
    const out = tfl.layers.dense({ units: 10, activation: 'softmax' }).apply(x);
    return { input: [32, 32, 3], model: tfl.model({ inputs: inp, outputs: out }) };
  },
};

const B = Number(opt.batch), iters = Number(opt.iters);
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
for (const name of opt.models.split(',')) {
  const { input, model } = models[name]();
  const x = tf.randomNormal([B, ...input]);
  const times = [];
  for (let i = 0; i < iters + 3; i++) {
    const t = performance.now();
    const y = model.predict(x); await y.data(); y.dispose();
    if (i >= 3) times.push(performance.now() - t);
  }
  model.compile({ optimizer: tf.train.sgd(0.01), loss: 'categoricalCrossentropy' });
  const labels = tf.oneHot(tf.randomUniform([B], 0, 10, 'int32'), 10);
  const steps = [];
  for (let i = 0; i < iters + 2; i++) {
    const t = performance.now();
    await model.trainOnBatch(x, labels);
    if (i >= 2) steps.push(performance.now() - t);
  }
  console.log(`tfjs-${tf.getBackend()} ${name} batch=${B} predict_ms=${median(times).toFixed(3)} train_step_ms=${median(steps).toFixed(3)}`);
}
process.exit(0);
