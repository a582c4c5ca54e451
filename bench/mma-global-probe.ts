// How fast can the tensor cores go from WGSL when both GEMM operands are f16 in memory and every
// subgroup loads its fragments straight from the storage buffers (no workgroup staging)? Standalone
// kernels, SIZE³, several subgroup tilings; checks sampled entries against a float64 reference of the
// same f16 inputs. The answer decides whether f16 operands in memory can reach issue 8's 300 TFLOP/s.
// Usage: node --import tsx bench/mma-global-probe.ts [--size 4096] [--tilings 2,4,4,2,2;4,4,2,2,1]
import { parseArgs } from 'node:util';
import { openDevice } from '../src/runtime/gpu.js';

const { values: opt } = parseArgs({ options: { size: { type: 'string', default: '4096' }, tilings: { type: 'string', default: '2,4,4,2,1;2,4,4,2,2;4,4,2,2,1;4,4,2,2,2;4,4,4,2,1;2,2,4,4,2;4,2,2,4,2;2,4,2,4,2' } } });
// openDevice asks for subgroup matrices where the adapter has them (with kiln's Dawn flags).
const { device } = await openDevice();
const S = Number(opt.size);

/** f16 bits → number. */
function half(bits: number): number {
  const e = (bits >> 10) & 31, m = bits & 1023, s = bits >> 15 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? NaN : s * (1 + m / 1024) * 2 ** (e - 15);
}

const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
const A = device.createBuffer({ size: S * S * 2, usage });
const B = device.createBuffer({ size: S * S * 2, usage });
const C = device.createBuffer({ size: S * S * 4, usage });
const fill = device.createShaderModule({ code: `enable f16;
@group(0) @binding(0) var<storage, read_write> X: array<f16>;
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x + g.y * 65535u * 256u;
  if (i >= arrayLength(&X)) { return; }
  var h = i * 747796405u + 2891336453u; h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u; h = (h >> 22u) ^ h;
  X[i] = f16(f32(h & 0xffffu) / 32768.0 - 1.0);
}` });
const fillPipe = device.createComputePipeline({ layout: 'auto', compute: { module: fill, entryPoint: 'main' } });
for (const X of [A, B]) {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(fillPipe);
  pass.setBindGroup(0, device.createBindGroup({ layout: fillPipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: X } }] }));
  const groups = Math.ceil((S * S) / 256);
  pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535));
  pass.end();
  device.queue.submit([enc.finish()]);
}

async function read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.destroy();
  return out;
}
const [a16, b16] = [new Uint16Array(await read(A, S * S * 2)), new Uint16Array(await read(B, S * S * 2))];

/** The kernel for one tiling: GM×GN subgroups, each SM×SN 16×16 results, KS k-steps of 16 per loop pass, the next pass's fragments loaded before this one's multiplies. */
function kernel(SM: number, SN: number, GM: number, GN: number, KS: number): string {
  const r = (n: number) => Array.from({ length: n }, (_, k) => k);
  const cells = r(SM).flatMap((i) => r(SN).map((j) => [i, j]));
  const loads = (kk: number, at: string) => [
    ...r(SM).map((i) => `a${kk}_${i} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&A, (row0 + ${16 * i}u) * K + ${at} + ${16 * kk}u, K);`),
    ...r(SN).map((j) => `b${kk}_${j} = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&B, (${at} + ${16 * kk}u) * N + col0 + ${16 * j}u, N);`),
  ];
  return `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
requires subgroup_id;
@group(0) @binding(0) var<storage, read> A: array<f16>;
@group(0) @binding(1) var<storage, read> B: array<f16>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
const M = ${S}u; const N = ${S}u; const K = ${S}u; const BK = ${16 * KS}u;
@compute @workgroup_size(${32 * GM * GN}) fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_id) sg: u32) {
  let row0 = wid.y * ${16 * SM * GM}u + (sg / ${GN}u) * ${16 * SM}u;
  let col0 = wid.x * ${16 * SN * GN}u + (sg % ${GN}u) * ${16 * SN}u;
  ${cells.map(([i, j]) => `var c${i}_${j} = subgroup_matrix_result<f32, 16, 16>();`).join('\n  ')}
  ${r(KS).flatMap((kk) => [...r(SM).map((i) => `var a${kk}_${i}: subgroup_matrix_left<f16, 16, 16>;`), ...r(SN).map((j) => `var b${kk}_${j}: subgroup_matrix_right<f16, 16, 16>;`)]).join('\n  ')}
  ${r(KS).flatMap((kk) => loads(kk, '0u')).join('\n  ')}
  for (var k0 = 0u; k0 < K; k0 = k0 + BK) {
    ${r(KS).flatMap((kk) => [...r(SM).map((i) => `let pa${kk}_${i} = a${kk}_${i};`), ...r(SN).map((j) => `let pb${kk}_${j} = b${kk}_${j};`)]).join('\n    ')}
    if (k0 + BK < K) {
      ${r(KS).flatMap((kk) => loads(kk, 'k0 + BK')).join('\n      ')}
    }
    ${r(KS).flatMap((kk) => cells.map(([i, j]) => `c${i}_${j} = subgroupMatrixMultiplyAccumulate(pa${kk}_${i}, pb${kk}_${j}, c${i}_${j});`)).join('\n    ')}
  }
  ${cells.map(([i, j]) => `subgroupMatrixStore<row_major>(&C, (row0 + ${16 * i}u) * N + col0 + ${16 * j}u, c${i}_${j}, N);`).join('\n  ')}
}`;
}

for (const spec of opt.tilings.split(';')) {
  const [SM, SN, GM, GN, KS] = spec.split(',').map(Number);
  const label = `SM ${SM} SN ${SN} GM ${GM} GN ${GN} KS ${KS} (${16 * SM * GM}×${16 * SN * GN} block, ${32 * GM * GN} threads)`;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: kernel(SM, SN, GM, GN, KS) });
  const pipe = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } }).catch((e: Error) => e);
  const err = await device.popErrorScope();
  if (pipe instanceof Error || err) {
    const info = (await module.getCompilationInfo()).messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
    console.log(`${label}: ${pipe instanceof Error ? pipe.message : err!.message} ${info}`);
    continue;
  }
  const bind = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [A, B, C].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const run = async (times: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bind);
    for (let t = 0; t < times; t++) pass.dispatchWorkgroups(S / (16 * SN * GN), S / (16 * SM * GM));
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  await run(1);
  const windows: number[] = [];
  for (let w = 0; w < 3; w++) {
    const t0 = performance.now();
    await run(20);
    windows.push((performance.now() - t0) / 20);
  }
  const ms = windows.sort((x, y) => x - y)[1];
  const c = new Float32Array(await read(C, S * S * 4));
  let err2 = 0;
  for (let s = 0; s < 64; s++) {
    const [i, j] = [Math.floor(Math.random() * S), Math.floor(Math.random() * S)];
    let ref = 0;
    for (let k = 0; k < S; k++) ref += half(a16[i * S + k]) * half(b16[k * S + j]);
    err2 = Math.max(err2, Math.abs(ref - c[i * S + j]));
  }
  console.log(`${label}: ${ms.toFixed(3)} ms, ${((2 * S ** 3) / ms / 1e9).toFixed(1)} TFLOP/s, max|err| ${err2.toExponential(2)} (windows ${windows.map((x) => x.toFixed(3)).join(' ')})`);
}
process.exit(0);
