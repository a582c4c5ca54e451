// Peer harness from the project's shared benchmark kit (shared/bench), kept verbatim so ratios are taken against the same measurement.
// The floor of one round trip through Dawn: write a buffer, run 1, 10 or 100 dispatches in one pass,
// copy back and map. Usage: node dawn_floor.mjs
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter({powerPreference:'high-performance'});
const device = await adapter.requestDevice({requiredLimits:{maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize}});
const code = `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { if (g.x < arrayLength(&a)) { a[g.x] = a[g.x] * 2.0 + 1.0; } }`;
let t0 = performance.now();
const mod = device.createShaderModule({code});
const pipe = await device.createComputePipelineAsync({layout:'auto', compute:{module:mod, entryPoint:'main'}});
console.log('pipeline create ms', (performance.now()-t0).toFixed(2));
const n = 2560;
const buf = device.createBuffer({size:n*4, usage: GPUBufferUsage.STORAGE|GPUBufferUsage.COPY_SRC|GPUBufferUsage.COPY_DST});
const rb = device.createBuffer({size:n*4, usage: GPUBufferUsage.MAP_READ|GPUBufferUsage.COPY_DST});
const bg = device.createBindGroup({layout:pipe.getBindGroupLayout(0), entries:[{binding:0, resource:{buffer:buf}}]});
const inp = new Float32Array(n).fill(1);
async function once(k){ device.queue.writeBuffer(buf,0,inp); const enc=device.createCommandEncoder(); const p=enc.beginComputePass(); p.setPipeline(pipe); p.setBindGroup(0,bg); for(let i=0;i<k;i++) p.dispatchWorkgroups(n/64); p.end(); enc.copyBufferToBuffer(buf,0,rb,0,n*4); device.queue.submit([enc.finish()]); await rb.mapAsync(GPUMapMode.READ); const r=new Float32Array(rb.getMappedRange().slice(0)); rb.unmap(); return r[0]; }
for (const k of [1, 10, 100]) {
  for (let i=0;i<20;i++) await once(k);
  const ts=[]; for (let i=0;i<200;i++){ const t=performance.now(); await once(k); ts.push(performance.now()-t); }
  ts.sort((a,b)=>a-b); console.log(`roundtrip with ${k} dispatches: median ${ts[100].toFixed(3)} ms  p10 ${ts[20].toFixed(3)}  p90 ${ts[180].toFixed(3)}`);
}
process.exit(0);
