// Convolutions after poolings (a VGG-style stack: conv → max-pool → conv → max-pool → conv, then a
// global-average softmax head), kernels timed on the GPU at several batches: how a convolution that
// reads through the pooling before it compares with the pooling as a kernel of its own (bench/ab.sh).
// Usage: node --import tsx bench/pool-conv.ts [--batches 1,32,256]
import { parseArgs } from 'node:util';
import { Input, Model, clearSession, layers, type SymbolicTensor } from '../src/index.js';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { batches: { type: 'string', default: '1,32,256' } } });
const gpu = await benchDevice();

function vgg(): Model {
  clearSession();
  const x = Input({ shape: [64, 64, 3], name: 'image' });
  let y: SymbolicTensor = x;
  for (const [filters, pool] of [[32, true], [64, true], [64, false]] as const) {
    y = layers.Conv2D({ filters, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(y) as SymbolicTensor;
    if (pool) y = layers.MaxPooling2D({ poolSize: 2 }).apply(y) as SymbolicTensor;
  }
  y = layers.GlobalAveragePooling2D().apply(y) as SymbolicTensor;
  return new Model({ name: 'vgg', inputs: x, outputs: layers.Dense(10, { activation: 'softmax' }).apply(y) as SymbolicTensor });
}

for (const batch of opt.batches.split(',').map(Number)) {
  const net = await Net.create(compileBundle(vgg(), { batch, microBatch: batch, profile: profileForAdapter(gpu.adapter) }).bundle, gpu);
  const inputs = randomInputs(net.inputs);
  await net.predict(inputs);
  const steps = await net.timeSteps(20);
  console.log(`vgg b=${batch}: chain ${((await net.timeChain(20)) * 1000).toFixed(1)} µs, ${steps.length} kernels (${steps.map((s) => `${s.name} ${(s.ms * 1000).toFixed(1)}`).join(', ')})`);
  net.destroy();
}
process.exit(0);
