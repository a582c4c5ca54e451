// Where the tensor-core GEMM's staging costs: its WGSL with the workgroup-memory stores of the staged
// tiles rewritten (bank-conflict-free swizzles, or removed), each variant timed alone by GPU timestamps.
// Usage: [SIZE=4096] [BENCH_DAWN_FLAGS=enable-dawn-features=disable_robustness] node --import tsx bench/mma-staging.ts
import { gemmProbe, timeVariants } from './gemm-probe.js';

const probe = await gemmProbe('mixed');
const storeA = /tileA\[at \+ (\d)u\] = f16\(ra\[(\d+)\]\[(\d)\]\);/g;
const storeB = /tileB\[at \+ (\d)u\] = f16\(rb\[(\d+)\]\[(\d)\]\);/g;
// Lanes 16–31 write the other half of their quad first: a row of 32 B quads then covers all 32 banks.
const swizzleB = (s: string) => s.replace(/(let lane = [^;]*;)/, '$1\n    let swz = select(0u, 2u, (t & 16u) != 0u);').replace(storeB, 'tileB[at + ($1u ^ swz)] = f16(rb[$2][$3u ^ swz]);');
// Garbage addresses, one word per lane per store: the cost of the same stores without conflicts.
const spreadA = (s: string) => s.replace(storeA, (_m, j, i) => `tileA[(t % 32u) * 2u + ${Number(j) % 2}u + ${64 * (Number(i) * 2 + (Number(j) >> 1))}u + (t / 32u) * 896u] = f16(ra[${i}][${j}]);`);
const variants: Record<string, (s: string) => string> = {
  'warm-up (original)': (s) => s,
  original: (s) => s,
  'B swizzled': swizzleB,
  'B swizzled, A spread (garbage)': (s) => spreadA(swizzleB(s)),
  'no A stores': (s) => s.replace(storeA, ''),
  'no B stores': (s) => s.replace(storeB, ''),
  'no barriers in the k loop': (s) => s.replace(/(for \(var k0[\s\S]*?)\n\s*workgroupBarrier\(\);([\s\S]*?)\n\s*workgroupBarrier\(\);/, '$1$2'),
};
await timeVariants(probe, variants, process.env.BENCH_DAWN_FLAGS ? '[flags] ' : '');
