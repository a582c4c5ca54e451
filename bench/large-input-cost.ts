// Where a large GPUBuffer-input predict spends what its kernels do not (the mlp at batch 4096 took 0.397 ms
// [gpu-input] against 0.199 ms of kernels, session 15): times in turns the predict, its kernels alone
// (GPU timestamps), and bare round trips that copy what the call copies: nothing, the output only, and
// the input into the arena plus the output. Usage: node --import tsx bench/large-input-cost.ts [--model mlp] [--batch 4096]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net } from '../src/runtime/index.js';
import { benchDevice, benchModel, medianMicros, randomInputs } from './common.js';

const { values: opt } = parseArgs({ options: { model: { type: 'string', default: 'mlp' }, batch: { type: 'string', default: '4096' }, iters: { type: 'string', default: '300' }, rounds: { type: 'string', default: '3' } } });
const gpu = await benchDevice();
const { device } = gpu;
const iters = Number(opt.iters);

const perCall = (fn: () => Promise<unknown>) => medianMicros(fn, iters, 30);

const got = await benchModel(opt.model);
if ('missing' in got) throw new Error(got.missing);
const net = await Net.create(compileBundle(got.model, { batch: Number(opt.batch), microBatch: Number(opt.batch), profile: profileForAdapter(gpu.adapter) }).bundle, gpu);
const feeds = randomInputs(net.inputs) as Record<string, Float32Array>;
const buffers = Object.fromEntries(Object.entries(feeds).map(([n, d]) => [n, net.createInputBuffer(n, d)]));
const inBytes = Object.values(feeds).reduce((a, d) => a + d.byteLength, 0);
const outBytes = net.outputs.reduce((a, o) => a + 4 * o.shape.reduce((x, y) => x * y, 1), 0);
const source = Object.values(buffers)[0];
const arena = device.createBuffer({ size: inBytes + outBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
const staging = device.createBuffer({ size: outBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

/** A bare call: optionally the input copied into the arena, the output copied out, submit, map, read. */
async function bare(copyInput: boolean, copyOutput: boolean): Promise<void> {
  const encoder = device.createCommandEncoder();
  if (copyInput) encoder.copyBufferToBuffer(source, 0, arena, 0, inBytes);
  encoder.copyBufferToBuffer(arena, inBytes, staging, 0, copyOutput ? outBytes : 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ, 0, copyOutput ? outBytes : 4);
  new Float32Array(staging.getMappedRange(0, copyOutput ? outBytes : 4).slice(0));
  staging.unmap();
}

console.log(`large-input-cost ${opt.model} b=${opt.batch}: input ${(inBytes / 2 ** 20).toFixed(2)} MiB, output ${(outBytes / 1024).toFixed(1)} KiB`);
for (let r = 0; r < Number(opt.rounds); r++) {
  const kernels = (await net.timeChain(50)) * 1000;
  const onGpu = await perCall(() => net.predict(buffers));
  const empty = await perCall(() => bare(false, false));
  const output = await perCall(() => bare(false, true));
  const both = await perCall(() => bare(true, true));
  console.log(`large-input-cost round ${r}: predict [gpu-input] ${onGpu.toFixed(1)} µs, kernels ${kernels.toFixed(1)} µs; bare round trip ${empty.toFixed(1)}, + output ${output.toFixed(1)}, + input and output ${both.toFixed(1)} µs`);
}
net.destroy();
process.exit(0);
