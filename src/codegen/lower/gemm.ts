/** The shared register-blocked GEMM: tile configurations, and the template data matmul and conv fill. */
import { PROFILES } from '../profile.js';
import { tunedGemmTiles } from '../tuning.js';

/** One tiling: WX×WY invocations, each a TM×TN tile, BK-deep staging. */
export interface GemmTiles {
  readonly WX: number;
  readonly WY: number;
  readonly TM: number;
  readonly TN: number;
  readonly BK: number;
}

/** Candidates, most work per invocation first; all stage at most 12 KiB in workgroup memory. */
const CANDIDATES: readonly GemmTiles[] = [
  { WX: 16, WY: 16, TM: 8, TN: 4, BK: 8 }, // 128×64
  { WX: 8, WY: 32, TM: 8, TN: 4, BK: 8 }, // 256×32: narrow outputs (32 conv channels)
  { WX: 16, WY: 16, TM: 4, TN: 4, BK: 16 }, // 64×64
  { WX: 16, WY: 16, TM: 8, TN: 1, BK: 16 }, // 128×16
  { WX: 16, WY: 16, TM: 2, TN: 2, BK: 16 }, // 32×32
  { WX: 16, WY: 16, TM: 1, TN: 1, BK: 16 }, // 16×16
];

/** Every candidate tiling, for `kiln tune` to time. */
export const GEMM_TILINGS: readonly GemmTiles[] = CANDIDATES;


const blockM = (t: GemmTiles) => t.WY * t.TM;
const blockN = (t: GemmTiles) => t.WX * t.TN;
const groups = (t: GemmTiles, M: number, N: number, batches: number) => Math.ceil(M / blockM(t)) * Math.ceil(N / blockN(t)) * batches;

/**
 * The tiling for an M×N output: the first candidate whose block is no wider than the output (rounded
 * up to 16) and that still gives enough workgroups for the target (its profile's `minWorkgroups`); failing that, the one giving the most (the
 * smallest block on a tie, wasting the least work).
 */
export function gemmTiles(M: number, N: number, batches = 1, minWorkgroups = PROFILES.gpu.minWorkgroups, K?: number): GemmTiles {
  // Forced for an experiment, else timed on this adapter (src/codegen/tuning.ts), else arithmetic.
  const chosen = tilesFromEnv() ?? tunedGemmTiles(M, N, batches, K);
  if (chosen) return chosen;
  const fits = CANDIDATES.filter((t) => blockN(t) <= Math.max(16, 2 ** Math.ceil(Math.log2(N))));
  return fits.find((t) => groups(t, M, N, batches) >= minWorkgroups) ?? fits.reduce((a, b) => (groups(b, M, N, batches) >= groups(a, M, N, batches) ? b : a));
}

/** Template data of shaders/gemm.wgsl.hbs for an M×N×K problem, given the WGSL of `loadA` and `loadB`. */
export function gemmData(M: number, N: number, K: number, loaders: string[], batches = 1, minWorkgroups?: number) {
  const t = gemmTiles(M, N, batches, minWorkgroups, K);
  const [BM, BN] = [blockM(t), blockN(t)];
  const threads = t.WX * t.WY;
  return { M, N, K, ...t, BM, BN, threads, tileA: t.BK * BM, tileB: t.BK * BN, loaders, loadsA: Math.ceil((t.BK * BM) / threads), loadsB: Math.ceil((t.BK * BN) / threads) };
}

/** Workgroup size and counts covering M×N for `batches` batch entries. */
export function gemmDispatch(M: number, N: number, K: number, batches = 1, minWorkgroups?: number): { workgroupSize: [number, number, number]; dispatch: [number, number, number] } {
  const t = gemmTiles(M, N, batches, minWorkgroups, K);
  return { workgroupSize: [t.WX, t.WY, 1], dispatch: [Math.ceil(N / blockN(t)), Math.ceil(M / blockM(t)), batches] };
}

/** A tiling forced for experiments, `KILN_GEMM_TILES=WX,WY,TM,TN,BK` (Node only; `kiln tune` will replace this). */
function tilesFromEnv(): GemmTiles | undefined {
  const spec = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.KILN_GEMM_TILES;
  if (!spec) return undefined;
  const [WX, WY, TM, TN, BK] = spec.split(',').map(Number);
  return { WX, WY, TM, TN, BK };
}
