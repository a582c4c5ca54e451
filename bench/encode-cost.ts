// Host cost of recording compute work through Dawn's Node binding: one pass of n dispatches, each
// with setPipeline + setBindGroup + dispatchWorkgroups, then each call alone, finished but never
// submitted. A predict records one such pass, so this is host time no kernel can save.
// BENCH_DAWN_FLAGS adds Dawn toggles (e.g. 'enable-dawn-features=skip_validation').
// Usage: node --import tsx bench/encode-cost.ts
import { benchDevice } from './common.js';

const { device } = await benchDevice();
const module = device.createShaderModule({ code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < 4u) { a[g.x] = a[g.x] + 1.0; } }` });
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const buffer = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] });
const calls: Record<string, (pass: GPUComputePassEncoder) => void> = {
  all: (pass) => { pass.setPipeline(pipeline); pass.setBindGroup(0, group); pass.dispatchWorkgroups(1, 1, 1); },
  setPipeline: (pass) => pass.setPipeline(pipeline),
  setBindGroup: (pass) => pass.setBindGroup(0, group),
  dispatch: (pass) => pass.dispatchWorkgroups(1, 1, 1),
};
const record = (n: number, call: (pass: GPUComputePassEncoder) => void) => {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  for (let i = 0; i < n; i++) call(pass);
  pass.end();
  encoder.finish();
};
for (let warm = 0; warm < 50; warm++) record(64, calls.all);
const timed = (n: number, call: (pass: GPUComputePassEncoder) => void, reps = 300) => {
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) record(n, call);
  return ((performance.now() - t0) / reps) * 1000;
};
const empty = timed(0, calls.all);
console.log(`encode an empty pass (encoder, pass, finish): ${empty.toFixed(1)} µs`);
for (const [name, call] of Object.entries(calls)) {
  for (const n of [8, 64]) {
    const us = timed(n, call);
    console.log(`encode ${name.padEnd(12)} ×${String(n).padStart(2)}: ${us.toFixed(1).padStart(7)} µs a pass, ${((us - empty) / n).toFixed(2)} µs a call`);
  }
}
process.exit(0);
