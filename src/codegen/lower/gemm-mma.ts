/** The tensor-core GEMM (shaders/gemm-mma.wgsl.hbs): tile configurations and the template data matmul and conv fill. */
import { MMA_FEATURES } from '../profile.js';
import { blockEdges, rasterData, stagingOrder, type OperandOrder } from './gemm.js';
import { experimentEnv } from '../experiment-env.js';
import { tunedMmaTiles, type TunedMma } from '../tuning.js';

/** One tensor-core tiling (its fields are documented at TunedMma, the form a tuning table stores). */
export type MmaTiles = TunedMma;

/**
 * Candidates, largest block first, then deepest staging; a tiling is used only where its workgroup
 * memory (`mmaStorage`) fits the target's. The first needs 46.75 KiB, the second 35, the others under 28.
 */
export const MMA_TILINGS: readonly MmaTiles[] = [
  // 128×256, each subgroup a 16×256 row of results: 144 TFLOP/s at 4096³ and 153 at 8192³ on an H100, against 134 and
  // 125 for 128×128; a larger block stages less per product (32×128 a subgroup: 140, 64×64: 102–119; …-session13-mma-tiles*.log).
  { GM: 8, GN: 1, SM: 1, SN: 16, KS: 3 },
  { GM: 4, GN: 2, SM: 2, SN: 4, KS: 3 }, // 128×128, 48-deep staging: 133 TFLOP/s at 4096³ on an H100 (KS 4: 118)
  { GM: 4, GN: 2, SM: 2, SN: 4, KS: 2 }, // 128×128, 256 threads: 100 TFLOP/s at 4096³ on an H100
  { GM: 4, GN: 2, SM: 2, SN: 1, KS: 2 }, // 128×32, 256 threads: 32-channel convolutions
  { GM: 2, GN: 2, SM: 2, SN: 2, KS: 2 }, // 64×64
  { GM: 1, GN: 1, SM: 2, SN: 1, KS: 2, R: 2 }, // 32×16: one result block, staged by 2 subgroups
];

const range = (n: number) => Array.from({ length: n }, (_, k) => k);

const blockM = (t: MmaTiles) => 16 * t.SM * t.GM;
const blockN = (t: MmaTiles) => 16 * t.SN * t.GN;
const groups = (t: MmaTiles, M: number, N: number, batches: number) => Math.ceil(M / blockM(t)) * Math.ceil(N / blockN(t)) * batches;

/** WebGPU adapters with subgroup matrices give at least this much workgroup memory (Apple's GPUs: 32 KiB). */
const ASSUMED_STORAGE = 32768;

/** f16 elements each staged row of A and B is padded by (0–24 measured no faster at 4096³ on an H100). */
const ROW_PAD = 8;

/** Bytes of workgroup memory a tiling stages: f16 tiles of A and B (padded rows) and a 16×16 f32 result per subgroup. */
export function mmaStorage(t: MmaTiles): number {
  const [BM, BN, BK] = [blockM(t), blockN(t), 16 * t.KS];
  return 2 * BM * (BK + ROW_PAD) + 2 * BK * (BN + ROW_PAD) + 4 * 256 * t.GM * t.GN;
}

/**
 * The tiling for an M×N output: as gemmTiles, the first no wider than the output that still fills the
 * target, among those whose workgroup memory fits `storage` bytes (the device's limit).
 */
export function mmaTiles(M: number, N: number, batches: number, minWorkgroups: number, storage = ASSUMED_STORAGE, K?: number): MmaTiles {
  const forced = mmaTilesFromEnv();
  if (forced) return forced;
  // Timed on this adapter by `kiln tune` (src/codegen/tuning.ts), where it still fits the device.
  const tuned = K === undefined ? undefined : tunedMmaTiles(M, N, batches, K);
  if (tuned && mmaStorage(tuned) <= storage) return tuned;
  return arithmeticMmaTiles(M, N, batches, minWorkgroups, storage);
}

/** The tiling arithmetic picks: the first no wider than the output that still fills the target, among those that fit `storage`. */
function arithmeticMmaTiles(M: number, N: number, batches: number, minWorkgroups: number, storage: number): MmaTiles {
  const fits = MMA_TILINGS.filter((t) => mmaStorage(t) <= storage && blockN(t) <= Math.max(16, 2 ** Math.ceil(Math.log2(N))));
  return fits.find((t) => groups(t, M, N, batches) >= minWorkgroups) ?? fits.reduce((a, b) => (groups(b, M, N, batches) >= groups(a, M, N, batches) ? b : a));
}

/** Whether the tensor-core tiling of an M×N output runs at least `minWorkgroups` workgroups (it fills the target). */
export function mmaFills(M: number, N: number, batches: number, minWorkgroups: number, storage = ASSUMED_STORAGE): boolean {
  return groups(arithmeticMmaTiles(M, N, batches, minWorkgroups, storage), M, N, batches) >= minWorkgroups;
}

/** Template data, workgroup size, dispatch and required features of an M×N×K tensor-core GEMM reading through `loaders`. */
export function mmaGemm(M: number, N: number, K: number, loaders: readonly string[], batches: number, minWorkgroups: number, order: OperandOrder = { a: 'k', b: 'n' }, quads = { quadA: false, quadB: false }, storage?: number) {
  const t = mmaTiles(M, N, batches, minWorkgroups, storage, K);
  const [BM, BN, BK] = [blockM(t), blockN(t), 16 * t.KS];
  const R = t.R ?? 1;
  const threads = 32 * t.GM * t.GN * R;
  const blocks = t.GM * t.GN;
  const aStride = BK + ROW_PAD;
  const bStride = BN + ROW_PAD;
  // A staged quad (quadOperands in ./gemm.ts) is four elements: a quarter as many loads per invocation.
  const [loadsA, loadsB] = [Math.ceil((BM * BK) / threads / (quads.quadA ? 4 : 1)), Math.ceil((BK * BN) / threads / (quads.quadB ? 4 : 1))];
  const cells = (f: (i: number, j: number) => string) => Array.from({ length: t.SM }, (_, i) => Array.from({ length: t.SN }, (_, j) => f(i, j))).flat();
  const declare = cells((i, j) => `var c_${i}_${j} = subgroup_matrix_result<f32, 16, 16>();`);
  const multiply = Array.from({ length: t.KS }, (_, kk) => [
    ...Array.from({ length: t.SM }, (_, i) => `let a_${kk}_${i} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&tileA, (sgRow + ${16 * i}u) * AS + ${16 * kk}u, AS);`),
    ...Array.from({ length: t.SN }, (_, j) => `let b_${kk}_${j} = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&tileB, ${16 * kk}u * BS + sgCol + ${16 * j}u, BS);`),
    ...cells((i, j) => `c_${i}_${j} = subgroupMatrixMultiplyAccumulate(a_${kk}_${i}, b_${kk}_${j}, c_${i}_${j});`),
  ]).flat();
  const results = Array.from({ length: t.SM }, (_, i) => Array.from({ length: t.SN }, (_, j) => ({ name: `c_${i}_${j}`, row: 16 * i, col: 16 * j }))).flat();
  return {
    data: {
      M, N, K, BM, BN, BK, threads, aStride, bStride, GN: t.GN, ...blockEdges({ M, N, K, BM, BN, BK, threads }, quads),
      // Staging loads stay masked (shaders/gemm-stage-loads.wgsl.hbs): unmasked, the tensor cores slowed from 145 to 127
      // TFLOP/s at 4096³ on an H100 (…-session14-whole-gemm-ab.log).
      wholeA: false, wholeB: false,
      subRows: 16 * t.SM, subCols: 16 * t.SN,
      tileA: BM * aStride, tileB: BK * bStride, tileC: 256 * t.GM * t.GN,
      loadsA, loadsB, loadsAIdx: range(loadsA), loadsBIdx: range(loadsB), ...stagingOrder(order), ...rasterData(M, N, BM, BN),
      loaders, declare, multiply, results, ...quads, lanes: range(4),
      convRows: false,
      subgroupIndex: blocks === 1 ? '0u' : 'sgid',
      subgroupIdBuiltin: blocks > 1,
      requires: blocks > 1 ? ['subgroup_id'] : [],
      // Each result matrix's 256 elements are finished by its subgroup's lanes, or by the whole workgroup when all share one block.
      epilogueLane: blocks === 1 ? 't' : 't % 32u',
      epilogueStride: blocks === 1 ? threads : 32,
      epilogueSteps: Math.ceil(256 / (blocks === 1 ? threads : 32)),
      enables: ['f16', 'subgroups', 'chromium_experimental_subgroup_matrix'],
    },
    workgroupSize: [threads, 1, 1] as [number, number, number],
    dispatch: [Math.ceil(N / BN), Math.ceil(M / BM), batches] as [number, number, number],
    features: [...MMA_FEATURES],
  };
}

/** A tiling forced for experiments, `KILN_MMA_TILES=GM,GN,SM,SN,KS` (Node only). */
function mmaTilesFromEnv(): MmaTiles | undefined {
  const spec = experimentEnv('KILN_MMA_TILES');
  if (!spec) return undefined;
  const [GM, GN, SM, SN, KS, R] = spec.split(',').map(Number);
  return { GM, GN, SM, SN, KS, ...(R ? { R } : {}) };
}
