/**
 * A matmul too small to fill the GPU with output blocks, split along K (issue 8's small-M split-K):
 * the register-blocked GEMM runs once per K chunk (the chunk is its batch index) into partial sums in
 * scratch, and a second kernel adds the chunks in order and applies the epilogue.
 */
import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { chainLines, broadcastRead, type Body } from '../chain.js';
import { dispatch1d } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { experimentEnv } from '../experiment-env.js';
import { Bindings } from './bindings.js';
import { gemmData, gemmDispatch, gemmTiles } from './gemm.js';

/** Fewest k-values a chunk keeps: shorter chunks spend more on partial sums than they gain. */
const MIN_CHUNK = 128;
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
  return CHUNKS.find((c) => Math.ceil(K / c) >= MIN_CHUNK && good(c, Math.ceil(K / c))) ?? 1;
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

/** The two kernels of a matmul split into `chunks` K chunks (batch 1, f32). */
export function lowerSplitK(node: Node, ctx: LowerContext, p: SplitKProblem, chunks: number): KernelSpec[] {
  const { M, N, K } = p;
  const KC = Math.ceil(K / chunks);
  const partials = ctx.scratch(4 * chunks * M * N);

  const g = new Bindings(ctx);
  const part = g.scratch(partials, 'out');
  const [a, b] = [g.input(ctx, node, p.ai), g.input(ctx, node, p.bi)];
  const loaders = [
    `const KT = ${K}u;`,
    // The chunk (batch) reads k-values batch·K … batch·K + K − 1 of the whole depth KT.
    `fn loadA(batch: u32, row: u32, ka: u32) -> f32 { let k = batch * K + ka; if (row >= M || ka >= K || k >= KT) { return 0.0; } return ${a}(${p.tA ? 'k * M + row' : 'row * KT + k'}); }`,
    `fn loadB(batch: u32, kb: u32, col: u32) -> f32 { let k = batch * K + kb; if (kb >= K || k >= KT || col >= N) { return 0.0; } return ${b}(${p.tB ? 'col * KT + k' : 'k * N + col'}); }`,
  ];
  const order = { a: p.tA ? 'm' : 'k', b: p.tB ? 'k' : 'n' } as const;
  const data = gemmData(M, N, KC, loaders, chunks, ctx.profile.minWorkgroups, order, undefined, true, ctx.profile.workgroupStorage);
  const first: KernelSpec = {
    name: node.name,
    wgsl: render('gemm', { ...g.header(), ...data, coords: [], epilogue: [`${part}(i, acc);`], tileType: 'f32', enables: [] }),
    entryPoint: 'main',
    ...gemmDispatch(M, N, KC, chunks, ctx.profile.minWorkgroups, ctx.profile.workgroupStorage),
    operands: g.operands,
  };

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
  const second: KernelSpec = {
    name: node.name,
    wgsl: render('elementwise', { ...f.header([...consts, ...helpersUsed(lines.join('\n')).map((h) => WGSL_HELPERS[h])]), wg: 64, flatIndex, count: M * N, coords: [], epilogue: lines }),
    entryPoint: 'main',
    workgroupSize: [64, 1, 1],
    dispatch,
    operands: f.operands,
  };
  return [first, second];
}
