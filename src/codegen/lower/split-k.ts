/**
 * A matmul too small to fill the GPU with output blocks, split along K (issue 8's small-M split-K):
 * the register-blocked GEMM runs once per K chunk (the chunk is its batch index) into partial sums in
 * scratch, and a second kernel adds the chunks in order and applies the epilogue.
 */
import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext, Operand } from '../kernel.js';
import { chainLines, broadcastRead, type Body } from '../chain.js';
import { dispatch1d } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { experimentEnv } from '../experiment-env.js';
import { Bindings } from './bindings.js';
import { gemmData, gemmDispatch, gemmTiles } from './gemm.js';
import { kChunks, splitGemm } from './split-gemm.js';

/** Fewest k-values a chunk keeps: shorter chunks spend more on partial sums than they gain. */
const MIN_CHUNK = 128;
/**
 * Most k-values a chunk of the register-blocked split keeps when more chunks still give good blocks: the
 * bench MLP's weight gradients at batch 4096 (784×512 and 512×512 from K 4096) took 0.203 and 0.139 ms in
 * 2 chunks, 0.173 and 0.100 in 4, 0.170 and 0.088 in 8 (H100, `…-session12-split-k-probe.log`).
 */
const MAX_LONG_CHUNK = 512;
/** Chunk counts tried, fewest first. */
const CHUNKS = [2, 4, 8] as const;

/** Output blocks smaller than this many elements (64×64) stage too little per k step to keep a GPU busy. */
const GOOD_BLOCK = 64 * 64;

/**
 * How many K chunks an M×N×K matmul runs as. One when its own tiling already has blocks of GOOD_BLOCK
 * or more; else the fewest chunks (each at least MIN_CHUNK deep) whose tiling reaches such blocks and
 * still fills the target. The bench MLP's first Dense at batch 256 (256×784·784×512) went from 32×32
 * blocks to 64×64 blocks in 4 chunks. `KILN_SPLIT_K=n` forces n (Node only, for experiments).
 */
export function splitKChunks(M: number, N: number, K: number, minWorkgroups: number, storage?: number): number {
  const forced = experimentEnv('KILN_SPLIT_K');
  if (forced) return Math.max(1, Number(forced));
  const good = (chunks: number, KC: number) => {
    const t = gemmTiles(M, N, chunks, minWorkgroups, KC, storage);
    const [BM, BN] = [t.WY * t.TM, t.WX * t.TN];
    return BM * BN >= GOOD_BLOCK && Math.ceil(M / BM) * Math.ceil(N / BN) * chunks >= minWorkgroups;
  };
  if (good(1, K) || minWorkgroups <= CHUNKS[0]) return 1;
  const fewest = CHUNKS.find((c) => Math.ceil(K / c) >= MIN_CHUNK && good(c, Math.ceil(K / c)));
  if (!fewest) return 1;
  // A long K walks in order, latency-bound: more chunks, while they stay good, until each is short enough.
  return CHUNKS.find((c) => c >= fewest && (Math.ceil(K / c) <= MAX_LONG_CHUNK || c === CHUNKS[CHUNKS.length - 1]) && good(c, Math.ceil(K / c))) ?? fewest;
}

/** k-values per chunk of a long-K split (see longKChunks). */
const LONG_K_CHUNK = 128;
/** From this K, a grid short of four times the target's workgroups splits too (each workgroup's walk is long). */
const LONG_K = 2048;
/** Most chunks of a long-K split: the second kernel adds them one by one per output. */
const MAX_LONG_K_CHUNKS = 64;

/**
 * Chunks of the split GEMM (shaders/split-gemm.wgsl.hbs) for an M×N×K matmul that splitKChunks leaves
 * whole and whose K is long, where the register-blocked GEMM's grid does not fill the target, or (K ≥
 * LONG_K) fills fewer than four times its workgroups: weight gradients of narrow layers, K = the batch.
 * Each workgroup walks its k-values in order, latency-bound, so chunks are short (LONG_K_CHUNK). 1 when
 * the split does not apply. On an H100 at batch 4096, the bench LSTM's Dense gradient (32×10, K 4096,
 * 2 workgroups) took 0.074 ms, then 0.008 split; the MLP's last (512×10) 0.074, then 0.018.
 */
export function longKChunks(M: number, N: number, K: number, minWorkgroups: number, storage?: number): number {
  const [gx, gy] = gemmDispatch(M, N, K, 1, minWorkgroups, storage).dispatch;
  const grid = gx * gy;
  if (K < 4 * LONG_K_CHUNK || (grid >= minWorkgroups && (K < LONG_K || grid >= 4 * minWorkgroups))) return 1;
  return Math.min(MAX_LONG_K_CHUNKS, kChunks(K, LONG_K_CHUNK, M * N).chunks);
}

/** What the split needs from the matmul's lowering: its sizes, operands and epilogue. */
export interface SplitKProblem {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly ai: number;
  readonly bi: number;
  readonly tA: boolean;
  readonly tB: boolean;
  /** The epilogue body (the matmul's value is `acc`) and the coordinate lines it needs. */
  readonly epilogue: Body;
  readonly coords: readonly string[];
}

/**
 * The two kernels of a matmul split into `chunks` K chunks (batch 1, f32): the register-blocked GEMM
 * per chunk, or with `longK` the split GEMM, into partial sums; then their sum and the epilogue.
 */
export function lowerSplitK(node: Node, ctx: LowerContext, p: SplitKProblem, chunks: number, longK = false): KernelSpec[] {
  const { M, N } = p;
  const partials = ctx.scratch(4 * chunks * M * N);
  return [chunkKernel(node, ctx, p, chunks, partials, longK), sumKernel(node, ctx, p, chunks, partials)];
}

/**
 * The first kernel: the register-blocked GEMM, or with `longK` the split GEMM, once per K chunk (its
 * batch index), each writing its partial sums. Both templates call the chunk's depth K.
 */
function chunkKernel(node: Node, ctx: LowerContext, p: SplitKProblem, chunks: number, partials: Operand, longK: boolean): KernelSpec {
  const { M, N, K } = p;
  const KC = Math.ceil(K / chunks);
  const g = new Bindings(ctx);
  const part = g.scratch(partials, 'out');
  const [a, b] = [g.input(ctx, node, p.ai), g.input(ctx, node, p.bi)];
  const loaders = [
    `const KT = ${K}u;`,
    // The chunk (batch) reads k-values batch·K … batch·K + K − 1 of the whole depth KT.
    `fn loadA(batch: u32, row: u32, ka: u32) -> f32 { let k = batch * K + ka; if (row >= M || ka >= K || k >= KT) { return 0.0; } return ${a}(${p.tA ? 'k * M + row' : 'row * KT + k'}); }`,
    `fn loadB(batch: u32, kb: u32, col: u32) -> f32 { let k = batch * K + kb; if (kb >= K || k >= KT || col >= N) { return 0.0; } return ${b}(${p.tB ? 'col * KT + k' : 'k * N + col'}); }`,
  ];
  if (longK) {
    const kernel = splitGemm(M, N, KC, chunks, [...loaders, `fn store(batch: u32, row: u32, col: u32, v: f32) { ${part}((batch * M + row) * N + col, v); }`], ctx.profile.minWorkgroups, p.tA ? 'm' : 'k');
    return { name: node.name, wgsl: render('split-gemm', { ...g.header(), ...kernel.data }), entryPoint: 'main', workgroupSize: kernel.workgroupSize, dispatch: kernel.dispatch, operands: g.operands };
  }
  const order = { a: p.tA ? 'm' : 'k', b: p.tB ? 'k' : 'n' } as const;
  const data = gemmData(M, N, KC, loaders, chunks, ctx.profile.minWorkgroups, order, undefined, true, ctx.profile.workgroupStorage);
  return {
    name: node.name,
    wgsl: render('gemm', { ...g.header(), ...data, coords: [], epilogue: [`${part}(i, acc);`], tileType: 'f32', enables: [] }),
    entryPoint: 'main',
    ...gemmDispatch(M, N, KC, chunks, ctx.profile.minWorkgroups, ctx.profile.workgroupStorage),
    operands: g.operands,
  };
}

/** The partial sums added chunk by chunk, in order, then the epilogue at each output element. */
function sumKernel(node: Node, ctx: LowerContext, p: SplitKProblem, chunks: number, partials: Operand): KernelSpec {
  const { M, N } = p;
  const f = new Bindings(ctx);
  const outs = node.outputs.map((_, k) => f.output(node, k));
  const sum = f.scratch(partials, 'in');
  const ins = node.inputs.map((_, k) => f.input(ctx, node, k));
  const inputTypes = node.inputs.map((r) => ctx.type(r));
  const outShape = node.outputs[0].shape as number[];
  const consts: string[] = [];
  const chain = chainLines(p.epilogue, (k) => broadcastRead(ins[k], inputTypes[k].shape as number[], outShape), consts);
  const lines = [
    'var acc = 0.0;',
    // Chunk by chunk in order: the sum does not depend on scheduling.
    `for (var q = 0u; q < ${chunks}u; q = q + 1u) { acc = acc + ${sum}(q * ${M * N}u + i); }`,
    ...p.coords,
    ...chain.lines,
    ...chain.results.map((r, k) => `${outs[k]}(i, ${r});`),
  ];
  const { dispatch, flatIndex } = dispatch1d(M * N, 64);
  return {
    name: node.name,
    wgsl: render('elementwise', { ...f.header([...consts, ...helpersUsed(lines.join('\n')).map((h) => WGSL_HELPERS[h])]), wg: 64, flatIndex, count: M * N, coords: [], epilogue: lines }),
    entryPoint: 'main',
    workgroupSize: [64, 1, 1],
    dispatch,
    operands: f.operands,
  };
}
