// Which part of a GEMM kernel costs: its WGSL with parts removed (results garbage), each timed alone.
// Usage: [SIZE=4096] [PREC=mixed|fp32] node --import tsx bench/mma-split.ts
import { gemmProbe, probeWgsl, timeVariants } from './gemm-probe.js';

const probe = await gemmProbe(process.env.PREC === 'fp32' ? 'float32' : 'mixed');
if (process.env.DUMP) console.log(probeWgsl(probe.compiled));
const variants: Record<string, (s: string) => string> = {
  'warm-up (original)': (s) => s,
  original: (s) => s,
  'no global loads': (s) => s.replace(/select\((vec4<f32>\()?0\.0\)?, load[AB]4?\([^;]*\);/g, (_m, quad) => (quad ? 'vec4<f32>(0.5);' : '0.5;')),
  'no A global loads': (s) => s.replace(/select\((vec4<f32>\()?0\.0\)?, loadA4?\([^;]*\);/g, (_m, quad) => (quad ? 'vec4<f32>(0.5);' : '0.5;')),
  'no B global loads': (s) => s.replace(/select\((vec4<f32>\()?0\.0\)?, loadB4?\([^;]*\);/g, (_m, quad) => (quad ? 'vec4<f32>(0.5);' : '0.5;')),
  'no multiply': (s) => s.replace(/^.*(subgroupMatrixMultiplyAccumulate|= fma\().*$/gm, ''),
  'no staging (loads and stores)': (s) => s.replace(/^.*tile[AB]\[.*\] = f(16|32)\(r[ab]\[.*$/gm, ''),
  'multiply only (no staging, no matrix loads)': (s) => s.replace(/^.*tile[AB]\[.*\] = f(16|32)\(r[ab]\[.*$/gm, '').replace(/subgroupMatrixLoad<(subgroup_matrix_\w+)<f16, 16, 16>, row_major>\([^;]*\);/g, '$1<f16, 16, 16>(f16(1));'),
};
await timeVariants(probe, variants);
