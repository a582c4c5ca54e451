// Compiles kiln's tensor-core GEMM kernel on this adapter and prints the WGSL compiler's messages
// (a diagnosis aid for the subgroup-matrix path). Usage: node --import tsx bench/mma-probe.ts
import { Input, Model, layers } from '../src/index.js';
import { compileBundle } from '../src/codegen/compile.js';
import { PROFILES } from '../src/codegen/profile.js';
import { openDevice } from '../src/runtime/gpu.js';

const gpu = await openDevice();
const { device } = gpu;
console.log('features', [...device.features].join(','));
const x = Input({ shape: [64] });
const compiled = compileBundle(new Model({ inputs: x, outputs: layers.Dense(64)(x) }), { batch: 64, precision: 'mixed', profile: { ...PROFILES.gpu, features: gpu.adapter.features } });
const readme = `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> A: array<f16>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
@compute @workgroup_size(32) fn main() {
  let a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&A, 0u, 16u);
  let b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&A, 0u, 16u);
  var c = subgroup_matrix_result<f32, 16, 16>();
  c = subgroupMatrixMultiplyAccumulate(a, b, c);
  subgroupMatrixStore<row_major>(&C, 0u, c, 16u);
}`;
const forced = (tiles: string) => {
  process.env.KILN_MMA_TILES = tiles;
  const c = compileBundle(new Model({ inputs: x, outputs: layers.Dense(64)(x) }), { batch: 64, precision: 'mixed', profile: { ...PROFILES.gpu, features: gpu.adapter.features } });
  delete process.env.KILN_MMA_TILES;
  return c.report.kernels[0].wgsl;
};
for (const [name, code] of [['readme', readme], ['kiln (several subgroups)', compiled.report.kernels[0].wgsl], ['kiln (one subgroup)', forced('1,1,2,2,2')], ['kiln (2×2 subgroups, subgroup_id)', forced('2,2,2,2,2')], ['kiln (redundant ×4)', forced('1,1,4,4,2,4')]] as const) {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const err = await device.popErrorScope();
  const info = await module.getCompilationInfo();
  console.log(`== ${name}: ${err ? err.message : 'ok'}`);
  for (const m of info.messages) console.log(`  ${m.type} ${m.lineNum}:${m.linePos} ${m.message}`);
  if (!err) {
    device.pushErrorScope('validation');
    await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } }).catch((e) => console.log('  pipeline:', (e as Error).message));
    const perr = await device.popErrorScope();
    console.log('  pipeline scope:', perr?.message ?? 'ok');
  }
}

// Raw tensor-core rate: every subgroup multiplies register-resident 16×16 tiles in a loop (no memory
// traffic), with 4 and 8 independent accumulators; and the same with operands re-loaded from workgroup memory.
for (const [label, reload] of [['registers', false], ['workgroup reload', true]] as const) {
  const ITERS = 2048;
  const ACC = 8;
  const code = `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> A: array<f16>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
var<workgroup> S: array<f16, 4096>;
@compute @workgroup_size(128) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  for (var i = t; i < 4096u; i += 128u) { S[i] = A[i % 256u]; }
  workgroupBarrier();
  var a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&A, 0u, 16u);
  var b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&A, 0u, 16u);
  ${Array.from({ length: ACC }, (_, k) => `var c${k} = subgroup_matrix_result<f32, 16, 16>();`).join('\n  ')}
  for (var it = 0u; it < ${ITERS}u; it++) {
    ${reload ? 'a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&S, (it % 8u) * 256u, 16u); b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&S, (it % 8u) * 256u + 2048u, 16u);' : ''}
    ${Array.from({ length: ACC }, (_, k) => `c${k} = subgroupMatrixMultiplyAccumulate(a, b, c${k});`).join('\n    ')}
  }
  ${Array.from({ length: ACC }, (_, k) => `c0 = subgroupMatrixScalarAdd(c0, 0.0); c${k} = c${k};`).slice(0, 0).join('')}
  ${Array.from({ length: ACC }, (_, k) => `subgroupMatrixStore<row_major>(&C, wid.x * ${256 * ACC}u + ${256 * k}u, c${k}, 16u);`).join('\n  ')}
}`;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } }).catch(() => undefined);
  const err = await device.popErrorScope();
  if (!pipeline || err) { console.log(`== peak (${label}): ${err?.message}`); continue; }
  const groups = 132 * 8;
  const A = device.createBuffer({ size: 512, usage: GPUBufferUsage.STORAGE });
  const C = device.createBuffer({ size: groups * 256 * ACC * 4, usage: GPUBufferUsage.STORAGE });
  const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: A } }, { binding: 1, resource: { buffer: C } }] });
  const run = async () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(groups); pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run();
  const t0 = performance.now();
  for (let r = 0; r < 5; r++) await run();
  const ms = (performance.now() - t0) / 5;
  const flops = groups * 4 * ITERS * ACC * 2 * 16 * 16 * 16;
  console.log(`== peak (${label}): ${ms.toFixed(2)} ms, ${(flops / ms / 1e9).toFixed(1)} TFLOP/s`);
}
process.exit(0);
