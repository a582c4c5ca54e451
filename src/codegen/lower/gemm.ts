/** The shared register-blocked GEMM: tile configurations, and the template data matmul and conv fill. */
import { DEFAULT_WORKGROUP_STORAGE, PROFILES } from '../profile.js';
import { tunedGemmTiles } from '../tuning.js';
import { experimentEnv } from '../experiment-env.js';
import { MAX_GROUPS } from '../indexing.js';

/** One tiling: WX×WY invocations, each a TM×TN tile, BK-deep staging. */
export interface GemmTiles {
  readonly WX: number;
  readonly WY: number;
  readonly TM: number;
  readonly TN: number;
  readonly BK: number;
  /** Two workgroup tiles per operand, stored while the other is multiplied (shaders/gemm.wgsl.hbs only). */
  readonly DB?: boolean;
}

/** The deepest K one k step of the candidates stages: a GEMM no deeper (a conv over one input channel) is bound by memory latency, not arithmetic. */
export const SHALLOW_K = 16;
/**
 * A shallow GEMM's tiling where its grid fills the target: 32×32 blocks of 256 invocations, 4 outputs
 * each, so more loads are in flight per output. The bench CNN's conv (K = 9) at batch 256 took 0.0249 ms
 * with it, against 0.0334 with 128×32 and 0.0329 with the halo kernel (H100, session 9, `…-tune-convs.log`).
 */
const SHALLOW_TILES: GemmTiles = { WX: 16, WY: 16, TM: 2, TN: 2, BK: 16 };

/**
 * Whether a GEMM of depth K is shallow on a target needing `minWorkgroups` to fill: K within one k step,
 * on a target that fills only with many workgroups (a GPU, which hides latency behind resident
 * invocations). On lavapipe's two threads small blocks cost instead: the CNN's conv at batch 64 took
 * 55–61 ms on 32×32 blocks against 14–17 with the halo kernel.
 */
export const isShallow = (K: number | undefined, minWorkgroups: number): boolean => K !== undefined && K <= SHALLOW_K && minWorkgroups >= PROFILES.gpu.minWorkgroups;

/**
 * A candidate of the arithmetic rule: its tiling, and how many workgroups its grid must give before the
 * rule picks it, in multiples of the target's `minWorkgroups`. Blocks of 128×128 and more hold so many
 * accumulators that a GPU unit keeps one such workgroup resident: with a single wave each unit has
 * nothing to overlap its loads with. On an H100 (`…-session11-gemm-shapes.log`) 4096×512 outputs ran
 * 15–20% faster in 128×64 blocks than in one wave of 128×128 (K = 784: 0.134 against 0.157 ms; K = 512:
 * 0.113 against 0.138; Bᵀ: 0.181 against 0.220), and 4096×1024, 8192×512 and 16384×256 outputs 7–10%
 * faster in two waves of 128×128 than in one of 128×256; 2048³ and 4096³ did not move.
 */
interface Candidate {
  readonly tiles: GemmTiles;
  readonly waves: number;
  /** Also picked from one wave where the grid is whole waves: its last wave at least WHOLE_WAVE full. */
  readonly wholeWaves?: boolean;
}

/** How full a whole-wave grid's last wave must be (`wholeWaves`). */
const WHOLE_WAVE = 0.9;

/** The fraction of the last wave a grid of `count` workgroups fills, `wave` workgroups to a wave. */
const lastWaveFill = (count: number, wave: number) => count / wave / Math.ceil(count / wave);

/**
 * Candidates, most work per invocation first; a tiling is used only where its workgroup memory
 * (`gemmStorage`) fits the target's: the first needs 24.5 KiB, the others at most 12.5 KiB (WebGPU's
 * default is 16). Those with TM and TN multiples of 4 are quad tilings (vec4 reads of workgroup
 * memory, see `isQuad`).
 */
const CANDIDATES: readonly Candidate[] = [
  // 128×256, each warp one row of 32 invocations (A's reads one broadcast, B's contiguous): 35.3–35.6 TFLOP/s at
  // 4096³ on an H100 against 34.0–34.3 for 16×16 invocations of 8×16, which it beat by 2–6% on every shape timed
  // (…-session13-mma-tiles*.log, …-gemm-shapes.log), so that one is gone. Four waves: with 288–384 of these blocks
  // (3072³, 2560×4096) the last wave runs part-empty, and 128×128 blocks ran 3–18% faster (…-wide-waves.log). Whole
  // waves of them won once the edge tests were gone: 128 blocks (2048³, 4096×1024), 256 (4096×2048) and 384 (3072×4096)
  // ran 6–14% faster than 128×128, 288–320 (3072³, 2560×4096) 3–5% slower (…-session14-whole-waves.log).
  { tiles: { WX: 32, WY: 8, TM: 16, TN: 8, BK: 16 }, waves: 4, wholeWaves: true },
  { tiles: { WX: 16, WY: 16, TM: 8, TN: 8, BK: 8 }, waves: 2 }, // 128×128
  // 128×64, 16 deep: 0.095 against 0.104 ms with 8 at 1024³, 0.113 against 0.118 at 4096×512×512 (H100, same log).
  { tiles: { WX: 16, WY: 16, TM: 8, TN: 4, BK: 16 }, waves: 1 },
  { tiles: { WX: 16, WY: 16, TM: 4, TN: 4, BK: 16 }, waves: 1 }, // 64×64
  { tiles: { WX: 8, WY: 16, TM: 8, TN: 4, BK: 16 }, waves: 1 }, // 128×32, deeper staging: narrow outputs (32 conv channels; 0.20 ms per ResNet conv at batch 256 on an H200)
  { tiles: { WX: 16, WY: 16, TM: 8, TN: 1, BK: 16 }, waves: 1 }, // 128×16
  { tiles: SHALLOW_TILES, waves: 1 }, // 32×32
  { tiles: { WX: 16, WY: 16, TM: 1, TN: 1, BK: 32 }, waves: 1 }, // 16×16, deep staging: the ResNet's convs at batch 1 are a chain of k steps (7.6 µs a conv against 8.6 with BK 16 on an H100)
];

/** Tilings only `kiln tune` tries: each won or lost by little somewhere, so arithmetic alone never picks them. */
const TUNE_ONLY: readonly GemmTiles[] = [
  { WX: 8, WY: 32, TM: 8, TN: 4, BK: 8 }, // 256×32 (0.22 ms per ResNet conv at batch 256 on an H200)
  { WX: 4, WY: 32, TM: 8, TN: 8, BK: 8 }, // 256×32, fewer invocations (0.27–0.31 ms there)
  // Double-buffered 128×128 (17 KiB staged): 32.8 against 33.0 TFLOP/s single-buffered at 4096³ on an H100.
  { WX: 16, WY: 16, TM: 8, TN: 8, BK: 8, DB: true },
];

/** Every candidate tiling, for `kiln tune` to time. */
export const GEMM_TILINGS: readonly GemmTiles[] = [...CANDIDATES.map((c) => c.tiles), ...TUNE_ONLY];


const blockM = (t: GemmTiles) => t.WY * t.TM;
const blockN = (t: GemmTiles) => t.WX * t.TN;

/** Bytes of workgroup memory a tiling stages in f32 (shaders/gemm-tiles.wgsl.hbs: quad tilings pad each k row by one vec4). */
export function gemmStorage(t: GemmTiles): number {
  const rows = isQuad(t) ? blockM(t) + blockN(t) + 8 : blockM(t) + blockN(t);
  return (t.DB ? 2 : 1) * t.BK * 4 * rows;
}
const groups = (t: GemmTiles, M: number, N: number, batches: number) => Math.ceil(M / blockM(t)) * Math.ceil(N / blockN(t)) * batches;

/**
 * The tiling for an M×N output: the first candidate whose block is no wider than the output (rounded
 * up to 16), whose workgroup memory fits `storage` bytes (the device's limit) and that still gives
 * enough workgroups for the target (its profile's `minWorkgroups`, times the candidate's waves, or
 * whole waves of them for a `wholeWaves` candidate); failing that, the one giving the
 * most (the smallest block on a tie, wasting the least work). A shallow GEMM (`isShallow`) takes
 * SHALLOW_TILES first, where its grid fills the target and fits a dispatch.
 */
export function gemmTiles(M: number, N: number, batches = 1, minWorkgroups = PROFILES.gpu.minWorkgroups, K?: number, storage = DEFAULT_WORKGROUP_STORAGE, foldsRows = false): GemmTiles {
  // Forced for an experiment, else timed on this adapter (src/codegen/tuning.ts), else arithmetic.
  const chosen = tilesFromEnv() ?? tunedGemmTiles(M, N, batches, K);
  if (chosen) return chosen;
  const fits = CANDIDATES.filter(({ tiles: t }) => gemmStorage(t) <= storage && blockN(t) <= Math.max(16, 2 ** Math.ceil(Math.log2(N))));
  // A template that folds its row blocks into z (shaders/conv-gemm.wgsl.hbs) has no limit on them.
  const dispatchable = (t: GemmTiles) => (foldsRows || Math.ceil(M / blockM(t)) <= MAX_GROUPS) && Math.ceil(N / blockN(t)) <= MAX_GROUPS;
  const shallow = isShallow(K, minWorkgroups) && fits.some((c) => c.tiles === SHALLOW_TILES) && dispatchable(SHALLOW_TILES);
  if (shallow && groups(SHALLOW_TILES, M, N, batches) >= minWorkgroups) return SHALLOW_TILES;
  const fills = (c: Candidate, count: number) => count >= c.waves * minWorkgroups || (c.wholeWaves === true && count >= minWorkgroups && lastWaveFill(count, minWorkgroups) >= WHOLE_WAVE);
  const filling = fits.find((c) => fills(c, groups(c.tiles, M, N, batches)));
  return filling?.tiles ?? fits.map((c) => c.tiles).reduce((a, b) => (groups(b, M, N, batches) >= groups(a, M, N, batches) ? b : a));
}

/** Whether a tiling's invocations own whole quads of rows and columns (read as vec4s from workgroup memory). */
export const isQuad = (t: GemmTiles) => t.TM % 4 === 0 && t.TN % 4 === 0;

/**
 * Which index of each operand is contiguous in memory, so that neighbouring invocations stage
 * neighbouring elements (coalesced reads): A[M×K] is k-contiguous, or m-contiguous when transposed;
 * B[K×N] n-contiguous, or k-contiguous when transposed.
 */
export interface OperandOrder {
  readonly a: 'k' | 'm';
  readonly b: 'n' | 'k';
}

/** Staging element `idx` of a tile: which row / column and which k, for each operand order. */
const STAGE_A = { k: { row: 'idx / BK', k: 'idx % BK' }, m: { row: 'idx % BM', k: 'idx / BM' } } as const;
const STAGE_B = { n: { k: 'idx / BN', col: 'idx % BN' }, k: { k: 'idx % BK', col: 'idx / BK' } } as const;

/** Block rows per raster band (shaders/gemm-raster.wgsl.hbs). */
const RASTER = 8;

/** Template data of shaders/gemm-raster.wgsl.hbs for a grid of BM×BN blocks over M×N. */
export const rasterData = (M: number, N: number, BM: number, BN: number) => ({ NBX: Math.ceil(N / BN), NBY: Math.ceil(M / BM), RASTER });

/** WGSL of staging element `idx`'s row and k of A (`aRow`, `aK`) and k and column of B (`bK`, `bCol`), for the GEMM templates. */
export const stagingOrder = (order: OperandOrder) => ({ aRow: STAGE_A[order.a].row, aK: STAGE_A[order.a].k, bK: STAGE_B[order.b].k, bCol: STAGE_B[order.b].col });

/**
 * Which operands a GEMM stages four elements at a time (vec4 loads through `loadA4` / `loadB4`): those
 * read along their contiguous index when that dimension is a multiple of 4, so a quad never straddles
 * a row or the matrix's end.
 */
export function quadOperands(K: number, N: number, order: OperandOrder): { quadA: boolean; quadB: boolean } {
  // KILN_GEMM_QUADS=0 stages element by element (Node only, to measure what quads bring).
  if (experimentEnv('KILN_GEMM_QUADS') === '0') return { quadA: false, quadB: false };
  return { quadA: order.a === 'k' && K % 4 === 0, quadB: order.b === 'n' && N % 4 === 0 };
}

/**
 * Template data of shaders/gemm.wgsl.hbs for an M×N×K problem, given the WGSL of `loadA` and `loadB`
 * (and of `loadA4` / `loadB4` for the operands `quads` marks, see quadOperands).
 */
export function gemmData(M: number, N: number, K: number, loaders: string[], batches = 1, minWorkgroups?: number, order: OperandOrder = { a: 'k', b: 'n' }, quads = { quadA: false, quadB: false }, canDoubleBuffer = false, storage?: number, foldsRows = false) {
  const t = gemmTiles(M, N, batches, minWorkgroups, K, storage, foldsRows);
  // Two workgroup tiles per operand where the template has them (shaders/gemm.wgsl.hbs): one barrier per k step instead of two.
  const doubleBuffer = canDoubleBuffer && (t.DB === true || experimentEnv('KILN_GEMM_DB') === '1');
  const copies = doubleBuffer ? 2 : 1;
  const [BM, BN] = [blockM(t), blockN(t)];
  const threads = t.WX * t.WY;
  const quad = isQuad(t);
  // Quad tilings pad each k row of A and B by one vec4 (shaders/gemm-tiles.wgsl.hbs).
  const [AS, BQ] = [BM / 4 + 1, BN / 4 + 1];
  // A staged quad is four elements: a quarter as many loads per invocation.
  const [loadsA, loadsB] = [Math.ceil((t.BK * BM) / threads / (quads.quadA ? 4 : 1)), Math.ceil((t.BK * BN) / threads / (quads.quadB ? 4 : 1))];
  const edges = blockEdges({ M, N, K, BM, BN, BK: t.BK, threads }, quads);
  return {
    ...edges,
    // Which staged loads each invocation stores (shaders/gemm.wgsl.hbs): all of them where its tile is whole.
    stageA: edges.wholeA ? 'true' : quads.quadA ? 'idx < BK * BM / 4u' : 'idx < BK * BM',
    stageB: edges.wholeB ? 'true' : quads.quadB ? 'idx < BK * BN / 4u' : 'idx < BK * BN',
    M, N, K, ...t, BM, BN, threads, loaders, quad, ...quads, lanes: range(4),
    tileA: copies * t.BK * BM, tileB: copies * t.BK * BN,
    AS, BQ, tileAQ: copies * t.BK * AS, tileBQ: copies * t.BK * BQ,
    DB: doubleBuffer, tileAOne: t.BK * (quad ? AS : BM), tileBOne: t.BK * (quad ? BQ : BN),
    ...stagingOrder(order), ...rasterData(M, N, BM, BN),
    accType: quad ? `array<array<vec4<f32>, ${t.TN / 4}>, ${t.TM}>` : `array<array<f32, ${t.TN}>, ${t.TM}>`,
    ...unrolled(t, doubleBuffer),
    batchOffset: 'batch * M * N + ',
    loadsA, loadsB, loadsAIdx: range(loadsA), loadsBIdx: range(loadsB),
  };
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);
const LANES = 'xyzw';

/**
 * The register work of one k step and the output positions of an invocation, as straight-line WGSL
 * (shaders/gemm-multiply.wgsl.hbs, gemm-store.wgsl.hbs): every register array index is a constant.
 */
function unrolled(t: GemmTiles, doubleBuffer = false) {
  // Double-buffered kernels read the tile pair at offsets ua / ub.
  const [oa, ob] = doubleBuffer ? ['ua + ', 'ub + '] : ['', ''];
  if (isQuad(t)) {
    const [rq, cq] = [range(t.TM / 4), range(t.TN / 4)];
    return {
      aLoads: rq.map((q) => `let a${q} = vec4<f32>(tileA[${oa}kk * AS + lid.y + ${q}u * WY]);`),
      bLoads: cq.map((q) => `let b${q} = vec4<f32>(tileB[${ob}kk * BQ + lid.x + ${q}u * WX]);`),
      fmas: range(t.TM).flatMap((r) => cq.map((c) => `acc[${r}][${c}] = fma(vec4<f32>(a${r >> 2}.${LANES[r & 3]}), b${c}, acc[${r}][${c}]);`)),
      stores: range(t.TM).flatMap((r) => cq.flatMap((c) => range(4).map((v) => ({ row: `(lid.y + ${r >> 2}u * WY) * 4u + ${r & 3}u`, col: `(lid.x + ${c}u * WX) * 4u + ${v}u`, acc: `[${r}][${c}][${v}]` })))),
    };
  }
  const [rs, cs] = [range(t.TM), range(t.TN)];
  return {
    aLoads: rs.map((r) => `let a${r} = f32(tileA[${oa}kk * BM + lid.y + ${r}u * WY]);`),
    bLoads: cs.map((c) => `let b${c} = f32(tileB[${ob}kk * BN + lid.x + ${c}u * WX]);`),
    fmas: rs.flatMap((r) => cs.map((c) => `acc[${r}][${c}] = fma(a${r}, b${c}, acc[${r}][${c}]);`)),
    stores: rs.flatMap((r) => cs.map((c) => ({ row: `lid.y + ${r}u * WY`, col: `lid.x + ${c}u * WX`, acc: `[${r}][${c}]` }))),
  };
}

/** The sizes that decide whether a block's staged tiles can reach past its operands (see blockEdges). */
export interface BlockFit {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly threads: number;
}

/**
 * Whether the staged tiles of A and B can reach past the matrices' edges (the templates' WGSL
 * constants EDGE_A and EDGE_B, which loaders test before their bounds checks): they cannot where the
 * blocks divide the problem and every invocation stages whole loads. Dropping the checks took the fp32
 * GEMM from 35.3 to 37.8 TFLOP/s at 4096³ on an H100 (…-session14-unchecked.log): they are most of the
 * staging's instructions, and the GEMM is bound by instruction issue. `wholeA` / `wholeB`: every
 * invocation's loads of an operand fall inside its tile, so none is masked (37.9 → 38.1 at 4096³,
 * …-session14-whole-gemm-ab.log).
 */
export function blockEdges(b: BlockFit, quads = { quadA: false, quadB: false }): { edgeA: boolean; edgeB: boolean; wholeA: boolean; wholeB: boolean } {
  // Whether every invocation's loads of an operand fall inside its tile (none is masked by `idx <` tests).
  const whole = (elements: number, quad: boolean) => (elements / (quad ? 4 : 1)) % b.threads === 0;
  const [wholeA, wholeB] = [whole(b.BM * b.BK, quads.quadA), whole(b.BK * b.BN, quads.quadB)];
  const kFits = b.K % b.BK === 0;
  return { edgeA: !(kFits && b.M % b.BM === 0 && wholeA), edgeB: !(kFits && b.N % b.BN === 0 && wholeB), wholeA, wholeB };
}

/** Workgroup size and counts covering M×N for `batches` batch entries (`storage` as in gemmTiles). */
export function gemmDispatch(M: number, N: number, K: number, batches = 1, minWorkgroups?: number, storage?: number): { workgroupSize: [number, number, number]; dispatch: [number, number, number] } {
  const t = gemmTiles(M, N, batches, minWorkgroups, K, storage);
  return { workgroupSize: [t.WX, t.WY, 1], dispatch: [Math.ceil(N / blockN(t)), Math.ceil(M / blockM(t)), batches] };
}

/**
 * The dispatch of a single GEMM whose template folds row blocks past WebGPU's 65535 into z (block
 * wid.y + wid.z · MAX_GROUPS, see shaders/conv-gemm.wgsl.hbs), and its count of row blocks.
 */
export function foldedGemmDispatch(M: number, N: number, K: number, minWorkgroups?: number, storage?: number): { workgroupSize: [number, number, number]; dispatch: [number, number, number]; rowBlocks: number } {
  const t = gemmTiles(M, N, 1, minWorkgroups, K, storage, true);
  const rowBlocks = Math.ceil(M / blockM(t));
  return { workgroupSize: [t.WX, t.WY, 1], dispatch: [Math.ceil(N / blockN(t)), Math.min(rowBlocks, MAX_GROUPS), Math.ceil(rowBlocks / MAX_GROUPS)], rowBlocks };
}

/** A tiling forced for experiments, `KILN_GEMM_TILES=WX,WY,TM,TN,BK[,db]` (Node only; `kiln tune` will replace this). */
function tilesFromEnv(): GemmTiles | undefined {
  const spec = experimentEnv('KILN_GEMM_TILES');
  if (!spec) return undefined;
  const [WX, WY, TM, TN, BK, db] = spec.split(',');
  return { WX: +WX, WY: +WY, TM: +TM, TN: +TN, BK: +BK, ...(db === 'db' ? { DB: true } : {}) };
}
