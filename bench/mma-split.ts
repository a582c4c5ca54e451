// Which part of a GEMM kernel costs: its WGSL with parts removed (results garbage), each timed alone.
// Usage: [SIZE=4096] [PREC=mixed|fp32] node --import tsx bench/mma-split.ts
import { Net } from '../src/runtime/index.js';
import { gemmProbe, tflopsLine } from './gemm-probe.js';

const { gpu, size, compiled } = await gemmProbe(process.env.PREC === 'fp32' ? 'float32' : 'mixed');
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
    console.log(tflopsLine(name, ms, size));
    net.destroy();
  } catch (e) {
    console.log(`${name}: ${(e as Error).message.slice(0, 300)}`);
  }
}
process.exit(0);
