/**
 * The split-K batched GEMM (shaders/split-gemm.wgsl.hbs): tilings, and the template data and
 * dispatch for a problem. Gradient products have small outputs and a long K (batch·pixels), so a
 * tiling can split K across the slices of a workgroup instead of leaving most of the GPU idle.
 */
import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext, Operand } from '../kernel.js';
import { dispatch1d, MAX_GROUPS } from '../indexing.js';
import { PROFILES } from '../profile.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { experimentEnv } from '../experiment-env.js';
import type { OperandOrder } from './gemm.js';

/** One tiling: S slices of WX×WY invocations, each a TM×TN tile; S·BK k-values staged per pass. */
export interface SplitTiles {
  readonly WX: number;
  readonly WY: number;
  readonly S: number;
  readonly TM: number;
  readonly TN: number;
  readonly BK: number;
}

/** For outputs at least 4 wide, largest block first; every one stages ≤ 8 KiB and has ≤ 256 invocations. */
const WIDE: readonly SplitTiles[] = [
  { WX: 16, WY: 16, S: 1, TM: 4, TN: 4, BK: 8 }, // 64×64
  { WX: 16, WY: 16, S: 1, TM: 2, TN: 2, BK: 16 }, // 32×32
  { WX: 8, WY: 8, S: 4, TM: 2, TN: 2, BK: 8 }, // 16×16, K in 4
  { WX: 4, WY: 4, S: 16, TM: 1, TN: 1, BK: 8 }, // 4×4, K in 16
  { WX: 1, WY: 1, S: 64, TM: 1, TN: 1, BK: 4 }, // one output, K in 64
];

/** For outputs 1–3 wide (depthwise gradients per channel). */
const NARROW: readonly SplitTiles[] = [
  { WX: 1, WY: 64, S: 1, TM: 2, TN: 1, BK: 16 }, // 128×1
  { WX: 1, WY: 64, S: 4, TM: 1, TN: 1, BK: 4 }, // 64×1, K in 4
  { WX: 1, WY: 16, S: 16, TM: 1, TN: 1, BK: 4 }, // 16×1, K in 16
  { WX: 1, WY: 1, S: 64, TM: 1, TN: 1, BK: 4 }, // one output, K in 64
];

/** Every candidate tiling, for tests that run each. */
export const SPLIT_TILINGS: readonly SplitTiles[] = [...WIDE, ...NARROW.slice(0, -1)];

/** Parallel work wanted per workgroup the target profile asks for: busy slices (a GPU: 128 workgroups of 4). */
const SLICES_PER_WORKGROUP = 4;

const blockM = (t: SplitTiles) => t.WY * t.TM;
const blockN = (t: SplitTiles) => t.WX * t.TN;
const groups = (t: SplitTiles, M: number, N: number, batches: number) => Math.ceil(M / blockM(t)) * Math.ceil(N / blockN(t)) * batches;
/** Slices that get any k-value: a slice beyond K only waits at barriers. */
const busy = (t: SplitTiles, K: number) => Math.min(t.S, Math.ceil(K / t.BK));
/** Workgroups times their busy slices. */
const work = (t: SplitTiles, M: number, N: number, K: number, batches: number) => groups(t, M, N, batches) * busy(t, K);

/**
 * The tiling for `batches` M×N×K products: among the candidates for the output's width whose block
 * is no larger than it (rounded up to powers of 2) and whose slices are at least half busy, the
 * largest block that gives enough parallel work; failing that, the one giving the most (the larger
 * block on a tie). "Enough" is the profile's `minWorkgroups` (src/codegen/profile.ts) times 4 busy
 * slices: a GPU gets small split blocks, a CPU adapter large ones. Untuned: arithmetic, not timings.
 */
export function splitTiles(M: number, N: number, K: number, batches = 1, minWorkgroups = PROFILES.gpu.minWorkgroups): SplitTiles {
  const forced = tilesFromEnv();
  if (forced) return forced;
  const up = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));
  const pool = (N >= 4 ? WIDE : NARROW).filter((t) => blockN(t) <= up(N) && blockM(t) <= up(M));
  const usable = pool.filter((t) => 2 * busy(t, K) >= t.S);
  const fits = usable.length ? usable : pool.length ? pool : [NARROW[NARROW.length - 1]];
  const enough = minWorkgroups * SLICES_PER_WORKGROUP;
  return fits.find((t) => work(t, M, N, K, batches) >= enough) ?? fits.reduce((a, b) => (work(b, M, N, K, batches) > work(a, M, N, K, batches) ? b : a));
}

/**
 * The workgroup grid of gx column blocks × gy row blocks × batches: as it is when every dimension fits
 * one dispatch, else folded into x and y (the shader recovers the block from x + y·DX; `folded`).
 */
export function splitGrid(gx: number, gy: number, batches: number): { dispatch: [number, number, number]; fold?: { DX: number; blocks: number; GX: number; GY: number; GXY: number } } {
  if (gx <= MAX_GROUPS && gy <= MAX_GROUPS && batches <= MAX_GROUPS) return { dispatch: [gx, gy, batches] };
  const blocks = gx * gy * batches;
  const y = Math.ceil(blocks / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new Error(`split GEMM grid ${gx}×${gy}×${batches} has ${blocks} blocks, more than ${MAX_GROUPS}² workgroups`);
  const x = Math.ceil(blocks / y);
  return { dispatch: [x, y, 1], fold: { DX: x, blocks, GX: gx, GY: gy, GXY: gx * gy } };
}

/**
 * Template data, workgroup size and dispatch of shaders/split-gemm.wgsl.hbs for `batches` M×N×K
 * products; `aOrder` 'm' where A's rows, not its k-values, lie next to each other in memory.
 */
export function splitGemm(M: number, N: number, K: number, batches: number, loaders: readonly string[], minWorkgroups?: number, aOrder: OperandOrder['a'] = 'k') {
  const t = splitTiles(M, N, K, batches, minWorkgroups);
  const [BM, BN, KC, threads] = [blockM(t), blockN(t), t.S * t.BK, t.WX * t.WY * t.S];
  const grid = splitGrid(Math.ceil(N / BN), Math.ceil(M / BM), batches);
  return {
    data: {
      M, N, K, ...t, BM, BN, KC, threads, tileA: KC * BM, tileB: KC * BN, split: t.S > 1, part: t.S * BM * BN, loaders, folded: !!grid.fold, ...grid.fold, aRowsContiguous: aOrder === 'm',
      // The elements each invocation stages per pass (read a pass ahead into registers).
      aSlots: slots((KC * BM) / threads), bSlots: slots((KC * BN) / threads),
    },
    workgroupSize: [threads, 1, 1] as [number, number, number],
    dispatch: grid.dispatch,
  };
}

const slots = (n: number) => Array.from({ length: Math.ceil(n) }, (_, k) => k);

/** A tiling forced for tests and experiments, `KILN_SPLIT_TILES=WX,WY,S,TM,TN,BK` (Node only), like KILN_GEMM_TILES. */
function tilesFromEnv(): SplitTiles | undefined {
  const spec = experimentEnv('KILN_SPLIT_TILES');
  if (!spec) return undefined;
  const [WX, WY, S, TM, TN, BK] = spec.split(',').map(Number);
  return { WX, WY, S, TM, TN, BK };
}

/** K values per workgroup-level chunk of a long reduction (gradients over batch·pixels or batch·steps). */
const CHUNK_K = 4096;

/** Most chunks of a reduction (workgroups along one dispatch dimension, at most 65535): the CNN's filter gradient at batch 4096 (K 2.77M) took 0.536 ms in 1024 chunks, 0.500 in 2704 (H100, `…-session12-ab-chunks.log`). */
const MAX_CHUNKS = 8192;
/** Floats of partial results a chunked reduction may leave in scratch (16 MiB): wide outputs get fewer chunks. */
const MAX_PARTIAL_FLOATS = 4 * 2 ** 20;

/**
 * How a reduction over K splits into chunks that run as separate workgroups (the split GEMM's batch
 * axis), each writing a partial result: `chunks` of `kc` k-values (about `chunkK`), one chunk when K is
 * short, and no more than `outputs` (elements of each partial) leave within MAX_PARTIAL_FLOATS.
 */
export function kChunks(K: number, chunkK = CHUNK_K, outputs = 1): { chunks: number; kc: number } {
  const chunks = Math.max(1, Math.min(MAX_CHUNKS, Math.floor(MAX_PARTIAL_FLOATS / outputs), Math.ceil(K / chunkK)));
  return { chunks, kc: Math.ceil(K / chunks) };
}

/** Partial sums a thread of sumChunksKernel keeps apart, so that as many of its loads are in flight at once. */
const SUM_LANES = 8;
/** Invocations a chunk sum aims for: fewer outputs than this share each output among lanes. */
const SUM_THREADS = 65536;
/** Lanes per output at most (a workgroup of 64), and chunks each lane folds at least. */
const MAX_SUM_LANES = 64;
const CHUNKS_PER_LANE = 4;

/**
 * Lanes per output of a chunk sum: the fewest (a power of two) giving SUM_THREADS invocations, within
 * MAX_SUM_LANES and CHUNKS_PER_LANE chunks a lane; 1 for many outputs. The CNN's filter gradient at batch
 * 256 (288 outputs, 169 chunks) spent 0.031 ms in one thread per output's chain of loads, 0.004 with 32
 * lanes; the ResNet's (9216 outputs, 512 chunks) 0.017, 0.009 with 8 (H100, `…-session10-sum-lanes-*`).
 */
export function sumLanes(count: number, chunks: number): number {
  let lanes = 1;
  while (count * lanes < SUM_THREADS && lanes * 2 <= MAX_SUM_LANES && lanes * 2 * CHUNKS_PER_LANE <= chunks) lanes *= 2;
  return lanes;
}

/**
 * The kernel that sums `chunks` partial results of `count` values (scratch `partials`, chunk-major) into
 * output `output` of `node`, in a fixed order (deterministic). Many outputs: a thread each, chunk q into
 * running sum q mod SUM_LANES, then those pairwise (one running sum kept each thread's loads one at a
 * time: the ResNet's filter gradients at batch 256 spent 0.093 ms each summing 512 chunks, H100). Few
 * outputs: lanes share each (shaders/sum-chunks.wgsl.hbs, see sumLanes).
 */
export function sumChunksKernel(ctx: LowerContext, node: Node, output: number, partials: Operand, chunks: number, count: number, name: string): KernelSpec {
  const f = new Bindings(ctx);
  const out = f.output(node, output);
  const sr = f.scratch(partials, 'in');
  const lanesPerOutput = sumLanes(count, chunks);
  if (lanesPerOutput > 1) {
    const opw = 64 / lanesPerOutput;
    const { dispatch } = dispatch1d(Math.ceil(count / opw) * 64, 64);
    const wgsl = render('sum-chunks', { ...f.header(), count, chunks, lanes: lanesPerOutput, opw, s: sr, out, groupIndex: `(wid.x + wid.y * ${dispatch[0]}u)` });
    return { name, wgsl, entryPoint: 'main', workgroupSize: [64, 1, 1], dispatch, operands: f.operands };
  }
  const { dispatch, flatIndex } = dispatch1d(count, 64);
  const lanes = Array.from({ length: SUM_LANES }, (_, k) => k);
  const whole = Math.floor(chunks / SUM_LANES) * SUM_LANES;
  let sums = lanes.map((k) => `v${k}`);
  while (sums.length > 1) sums = sums.filter((_, k) => k % 2 === 0).map((a, k) => `(${a} + ${sums[2 * k + 1]})`);
  const lines = [
    `var v0 = 0.0;${lanes.slice(1).map((k) => ` var v${k} = 0.0;`).join('')}`,
    `for (var q = 0u; q < ${whole}u; q = q + ${SUM_LANES}u) {${lanes.map((k) => ` v${k} = v${k} + ${sr}((q + ${k}u) * ${count}u + i);`).join('')} }`,
    ...lanes.filter((k) => whole + k < chunks).map((k) => `v${k} = v${k} + ${sr}(${(whole + k) * count}u + i);`),
    `${out}(i, ${sums[0]});`,
  ];
  return { name, wgsl: render('elementwise', { ...f.header(), wg: 64, flatIndex, count, coords: [], epilogue: lines }), entryPoint: 'main', workgroupSize: [64, 1, 1], dispatch, operands: f.operands };
}
