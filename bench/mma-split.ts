// Which part of a GEMM kernel costs: its WGSL with parts removed (results garbage), each timed alone.
// Usage: [SIZE=4096] [PREC=mixed|fp32] node --import tsx bench/mma-split.ts
import { Input, Model, clearSession, layers } from '../src/index.js';
import { compileBundle } from '../src/codegen/index.js';
import { profileForAdapter } from '../src/codegen/profile.js';
import { Net, openDevice } from '../src/runtime/index.js';
import { dawnFlags, installDawn } from './common.js';
await installDawn(dawnFlags(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']));
const gpu = await openDevice();
const size = Number(process.env.SIZE ?? 4096);
clearSession();
const x = Input({ shape: [size] });
const model = new Model({ inputs: x, outputs: layers.Dense(size, { useBias: false })(x) });
const precision = process.env.PREC === 'fp32' ? 'float32' : 'mixed';
const compiled = compileBundle(model, { batch: size, profile: profileForAdapter(gpu.adapter), precision });
const file = [...compiled.bundle.files.keys()].find((f) => f.endsWith('.wgsl'))!;
const base = new TextDecoder().decode(compiled.bundle.files.get(file)!);
if (process.env.DUMP) console.log(base);
const variants: Record<string, (s: string) => string> = {
  'warm-up (original)': (s) => s,
  original: (s) => s,
  'no global loads': (s) => s.replace(/select\(0\.0, load[AB]\([^;]*\);/g, '0.5;'),
  'no multiply': (s) => s.replace(/^.*(subgroupMatrixMultiplyAccumulate|= fma\().*$/gm, ''),
  'no staging (loads and stores)': (s) => s.replace(/^.*tile[AB]\[.*\] = f(16|32)\(r[ab]\[.*$/gm, ''),
  'multiply only (no staging, no matrix loads)': (s) => s.replace(/^.*tile[AB]\[.*\] = f(16|32)\(r[ab]\[.*$/gm, '').replace(/subgroupMatrixLoad<(subgroup_matrix_\w+)<f16, 16, 16>, row_major>\([^;]*\);/g, '$1<f16, 16, 16>(f16(1));'),
};
for (const [name, edit] of Object.entries(variants)) {
  const files = new Map(compiled.bundle.files);
  files.set(file, new TextEncoder().encode(edit(base)));
  try {
    const net = await Net.create({ ...compiled.bundle, files }, gpu);
    await net.timeSteps(3);
    const ms = (await net.timeSteps(20)).reduce((a, t) => a + t.ms, 0);
    console.log(`${name.padEnd(44)} ${ms.toFixed(3)} ms ${((2 * size ** 3) / (ms * 1e9)).toFixed(1)} TFLOP/s`);
    net.destroy();
  } catch (e) {
    console.log(`${name}: ${(e as Error).message.slice(0, 300)}`);
  }
}
process.exit(0);
