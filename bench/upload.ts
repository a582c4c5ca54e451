// How an input reaches the GPU: queue.writeBuffer against a mapped staging buffer copied in the
// command buffer, each timed as a whole round trip (upload → copy 4 bytes out → map the readback)
// at the sizes of the bench models' batch-256 inputs, then the host's part and the GPU's part of it
// alone. Decides the runtime's upload path. PyTorch's copies of the same sizes: bench/torch-upload.py.
// Usage: node --import tsx bench/upload.ts [--sizes 802816,1310720,3145728] [--iters 200]
import { parseArgs } from 'node:util';
import { openDevice } from '../src/runtime/index.js';
import { timestampRunner } from '../src/runtime/timestamps.js';

const { values: opt } = parseArgs({ options: { sizes: { type: 'string', default: '802816,1310720,3145728' }, iters: { type: 'string', default: '200' } } });
const { device } = await openDevice();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const bytes of opt.sizes.split(',').map(Number)) {
  const data = new Float32Array(bytes / 4).map((_, i) => i % 97);
  const dst = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const up = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
  const finish = async (encoder: GPUCommandEncoder) => {
    encoder.copyBufferToBuffer(dst, bytes - 4, read, 0, 4);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    read.unmap();
  };
  const methods: Record<string, () => Promise<void>> = {
    writeBuffer: async () => {
      device.queue.writeBuffer(dst, 0, data.buffer, data.byteOffset, data.byteLength);
      await finish(device.createCommandEncoder());
    },
    mapped: async () => {
      new Float32Array(up.getMappedRange()).set(data);
      up.unmap();
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(up, 0, dst, 0, bytes);
      await Promise.all([finish(encoder), up.mapAsync(GPUMapMode.WRITE)]);
    },
    none: async () => finish(device.createCommandEncoder()),
  };
  for (const [name, fn] of Object.entries(methods)) {
    for (let i = 0; i < 20; i++) await fn();
    const ts: number[] = [];
    for (let i = 0; i < Number(opt.iters); i++) {
      const t = performance.now();
      await fn();
      ts.push(performance.now() - t);
    }
    console.log(`upload ${(bytes / 1048576).toFixed(2)} MiB ${name.padEnd(12)} ${(median(ts) * 1000).toFixed(1)} µs per round trip`);
  }
  // The host's part alone: the writeBuffer call (Dawn copies the data into its staging memory), and the
  // copy into a mapped buffer, each without waiting for the GPU.
  const mapped = new Float32Array(up.getMappedRange());
  const host: Record<string, () => void> = {
    'writeBuffer call': () => device.queue.writeBuffer(dst, 0, data.buffer, data.byteOffset, data.byteLength),
    'mapped copy': () => mapped.set(data),
    'host memcpy': () => new Float32Array(bytes / 4).set(data),
  };
  for (const [name, fn] of Object.entries(host)) {
    const ts: number[] = [];
    for (let i = 0; i < Number(opt.iters); i++) {
      const t = performance.now();
      fn();
      ts.push(performance.now() - t);
      if (name === 'writeBuffer call' && i % 16 === 15) await device.queue.onSubmittedWorkDone();
    }
    console.log(`upload ${(bytes / 1048576).toFixed(2)} MiB ${name.padEnd(16)} ${(median(ts) * 1000).toFixed(1)} µs on the host (${(bytes / median(ts) / 1e6).toFixed(1)} GB/s)`);
  }
  up.unmap();
  // The mapped path phase by phase, on the host: copy in, unmap, submit (copy and readback), the
  // readback's map, then the staging buffer's map for the next call.
  {
    const phases = { copy: [] as number[], unmap: [] as number[], submit: [] as number[], read: [] as number[], remap: [] as number[] };
    for (let i = 0; i < 120; i++) {
      await up.mapAsync(GPUMapMode.WRITE);
      let t = performance.now();
      const lap = (k: keyof typeof phases) => { const now = performance.now(); if (i >= 20) phases[k].push(now - t); t = now; };
      new Float32Array(up.getMappedRange()).set(data);
      lap('copy');
      up.unmap();
      lap('unmap');
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(up, 0, dst, 0, bytes);
      encoder.copyBufferToBuffer(dst, bytes - 4, read, 0, 4);
      device.queue.submit([encoder.finish()]);
      lap('submit');
      await read.mapAsync(GPUMapMode.READ);
      read.unmap();
      lap('read');
      await up.mapAsync(GPUMapMode.WRITE);
      lap('remap');
      up.unmap();
    }
    console.log(`upload ${(bytes / 1048576).toFixed(2)} MiB mapped phases (µs): ${Object.entries(phases).map(([k, v]) => `${k} ${(median(v) * 1000).toFixed(1)}`).join(', ')}`);
  }
  // The GPU's part alone: the copy between two empty timestamped passes, from the mapped (host) buffer
  // and, for scale, between two device buffers of the same size.
  if (device.features.has('timestamp-query')) {
    const twin = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const stamps = timestampRunner(device);
    const { querySet } = stamps.writes;
    for (const [name, src] of [['from host memory', up], ['device to device', twin]] as const) {
      const ts: number[] = [];
      for (let i = 0; i < 50; i++) {
        const encoder = device.createCommandEncoder();
        encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0 } }).end();
        encoder.copyBufferToBuffer(src, 0, dst, 0, bytes);
        encoder.beginComputePass({ timestampWrites: { querySet, endOfPassWriteIndex: 1 } }).end();
        const ms = await stamps.read(encoder);
        if (i >= 10) ts.push(ms);
      }
      console.log(`upload ${(bytes / 1048576).toFixed(2)} MiB GPU copy ${name.padEnd(17)} ${(median(ts) * 1000).toFixed(1)} µs on the GPU (${(bytes / median(ts) / 1e6).toFixed(1)} GB/s)`);
    }
    twin.destroy();
    stamps.destroy();
  }
}
process.exit(0);
