// Host overhead of a predict with the bundle already loaded: wall time per predict, host CPU time per
// predict (this process, Dawn's threads included), the GPU time of its kernels, and the floor of one
// bare Dawn round trip (write → submit of 1 dispatch and a copy, encoded during the previous call's wait
// as kiln's predict encodes → map) measured in the same process. For the 'tiny'
// model (one near-empty kernel) `beyond_floor_us`, wall minus floor, is what kiln's host side adds.
// Usage: node --import tsx bench/overhead.ts [--models tiny,mlp,cnn] [--batch 1] [--iters 300]
import { parseArgs } from 'node:util';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { loadCachedTuning } from '../src/codegen/tuning.js';
import { Net } from '../src/runtime/index.js';
import { Input, Model, clearSession, layers } from '../src/index.js';
import { benchDevice, benchModel, emit, median, randomInputs, reason, variant } from './common.js';

/** 'tiny' (one Dense 8 → 8: one kernel, next to no GPU work, so the time is the host's and Dawn's), else a bench sample. */
async function overheadModel(name: string): Promise<{ model: Model } | { missing: string }> {
  if (name !== 'tiny') return benchModel(name);
  clearSession();
  const x = Input({ shape: [8] });
  return { model: new Model({ name: 'tiny', inputs: x, outputs: layers.Dense(8)(x) }) };
}

const { values: opt } = parseArgs({ options: {
  models: { type: 'string', default: 'tiny,mlp,cnn' }, batch: { type: 'string', default: '1' }, iters: { type: 'string', default: '300' },
} });
const gpu = await benchDevice();
const iters = Number(opt.iters);
const batch = Number(opt.batch);

/** Median µs and host-CPU µs per call of `fn`, after warm-up. */
async function perCall(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  for (let i = 0; i < 20; i++) await fn();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) * 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: median(times), cpu: (cpu.user + cpu.system) / iters };
}

/** The bare round trip: the least any WebGPU predict can take on this device. */
async function floor(): Promise<{ wall: number; cpu: number }> {
  const { device } = gpu;
  const code = '@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < arrayLength(&a)) { a[g.x] = a[g.x] * 2.0 + 1.0; } }';
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
  const n = 256;
  const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const input = new Float32Array(n).fill(1);
  const encode = () => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(n / 64);
    pass.end();
    encoder.copyBufferToBuffer(buf, 0, read, 0, n * 4);
    return encoder.finish();
  };
  // As kiln's predict does: the next call's command buffer is encoded while this one's GPU work runs.
  let next = encode();
  const result = await perCall(async () => {
    device.queue.writeBuffer(buf, 0, input);
    device.queue.submit([next]);
    const mapping = read.mapAsync(GPUMapMode.READ);
    next = encode();
    await mapping;
    new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
  });
  buf.destroy();
  read.destroy();
  return result;
}

const bare = await floor();
emit({ part: 'overhead', system: 'dawn-floor', model: 'roundtrip', batch: 1, wall_us: bare.wall, cpu_us: bare.cpu, variant: variant() });
for (const name of opt.models.split(',')) {
  const base = { part: 'overhead', system: 'kiln', model: name, batch, variant: variant() } as const;
  const got = await overheadModel(name);
  if ('missing' in got) {
    emit({ ...base, status: 'missing', reason: got.missing });
    continue;
  }
  try {
    const compiled = compileBundle(got.model, { batch, microBatch: batch, profile: profileForAdapter(gpu.adapter), tuning: loadCachedTuning(gpu.adapter) });
    const net = await Net.create(compiled.bundle, gpu);
    const inputs = randomInputs(net.inputs);
    const p = await perCall(() => net.predict(inputs));
    const kernelUs = (await net.timeSteps(50)).reduce((s, t) => s + t.ms, 0) * 1000;
    emit({ ...base, wall_us: p.wall, cpu_us: p.cpu, kernel_us: kernelUs, floor_us: bare.wall, beyond_floor_us: p.wall - bare.wall, kernels: net.manifest.steps.length });
    net.destroy();
  } catch (e) {
    emit({ ...base, status: 'error', reason: reason(e) });
  }
}
process.exit(0);
