import type { Node } from '../../ir/types.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { bodyOf, broadcastRead, chainLines, producerOf, type Body } from '../chain.js';
import { MAX_GROUPS, numel, sameShape, strides, unravel } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS } from '../wgsl-ops.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { gemmData, gemmDispatch, quadOperands } from './gemm.js';
import { mmaGemm } from './gemm-mma.js';
import { gemvData, gemvShape } from './gemv.js';
import { globalMeanStage, poolPrologueOf, poolReadWgsl, withoutPrologue, type GlobalMeanStage } from './pool-read.js';
import { longKChunks, lowerSplitK, splitKChunks } from './split-k.js';
import { gemmPrecision } from '../profile.js';
import { experimentEnv } from '../experiment-env.js';

const ROW_WORKGROUP = 64;
/** Below this many columns the row-softmax kernel splits each dot product across the workgroup. */
const SPLIT_K_BELOW = 32;
/** Workgroup-memory floats the split-K row softmax may spend on its [column][lane] partial sums (12 KiB). */
const SPLIT_K_PARTIALS = 3072;
/** Lanes sharing each split-K row: as many as WebGPU's default limit and the partials' room allow. */
const splitWorkgroup = (N: number) => [256, 128, 64].find((wg) => N * wg <= SPLIT_K_PARTIALS) ?? 64;
/** Lanes of a team, where a split-K workgroup takes several rows (one subgroup's worth on most GPUs). */
const TEAM_LANES = 32;
/** The most rows (teams) one split-K workgroup takes: 256 invocations. */
const MAX_TEAMS = 8;

/** Workgroups of several teams must number this many times the target's `minWorkgroups`. */
const TEAM_WAVES = 4;

/**
 * Rows each split-K row-softmax workgroup takes: one, unless there are rows enough that workgroups of
 * several teams still number TEAM_WAVES × `minWorkgroups` (then a row's K is shared by TEAM_LANES
 * lanes, not 256, and a workgroup's barriers serve several rows), within the partials' room. On an
 * H100 (`…-session11-tiles-teams.log`) eight rows a workgroup took the heads at batch 4096 from 0.0332
 * to 0.0155 ms (mlp), 0.0276 to 0.0067 (LSTM) and 0.164 to 0.142 (cnn); at batch 256 two rows a
 * workgroup were slower for the mlp (0.0082 against 0.0060) and the cnn (0.052 against 0.014: K = 5408
 * walked by 32 lanes), hence the waves. `KILN_ROW_TEAMS=n` forces n (Node only, for experiments).
 */
export function rowTeams(rows: number, N: number, minWorkgroups: number): number {
  const room = Math.floor(SPLIT_K_PARTIALS / (N * TEAM_LANES));
  const forced = experimentEnv('KILN_ROW_TEAMS');
  // Forced, still within the partials' room (a power of two: teams × 32 lanes is the workgroup).
  if (forced) return 2 ** Math.floor(Math.log2(Math.max(1, Math.min(Number(forced), room, MAX_TEAMS))));
  for (let teams = MAX_TEAMS; teams > 1; teams /= 2) if (teams <= room && rows / teams >= TEAM_WAVES * minWorkgroups) return teams;
  return 1;
}
/** Up to this many rows, columns split K across a workgroup (shaders/matmul-gemv.wgsl.hbs) beat tiling. */
const GEMV_MAX_ROWS = 8;

/** Offset of batch entry `batch` of an operand whose batch dims broadcast to the output's. */
function batchOffset(inBatch: readonly number[], outBatch: readonly number[], matrix: number): string {
  const lead = outBatch.length - inBatch.length;
  const outStrides = strides(outBatch);
  const inStrides = strides(inBatch);
  const terms = inBatch.flatMap((d, i) => (d === 1 ? [] : [`((batch / ${outStrides[i + lead]}u) % ${outBatch[i + lead]}u) * ${inStrides[i] * matrix}u`]));
  return terms.length ? terms.join(' + ') : '0u';
}

/** Everything both matmul kernels need: operands, sizes, the epilogue chain up to `until`. */
function setup(node: Node, ctx: LowerContext, epilogue: (body: Body) => Body, rowWorkgroup?: number) {
  const inputTypes = node.inputs.map((r) => ctx.type(r));
  const body = bodyOf(node, inputTypes);
  const mm = producerOf(body)!;
  const prologue = poolPrologueOf(body, mm);
  const nodeOf = (k: number) => body.nodes.find((n) => n.id === mm.inputs[k].node)!;
  const [ai, bi] = [prologue?.param ?? (nodeOf(0).attrs.index as number), nodeOf(1).attrs.index as number];
  // A pooled A operand has the shape the matmul sees (after the pooling and its reshape), not its param's.
  const aShape = nodeOf(0).outputs[mm.inputs[0].output].shape as number[];
  const bShape = inputTypes[bi].shape as number[];
  const outShape = node.outputs[0].shape as number[];
  const tA = mm.attrs.transposeA === true;
  const tB = mm.attrs.transposeB === true;
  const [M, N] = [outShape.at(-2)!, outShape.at(-1)!];
  const K = tA ? aShape.at(-2)! : aShape.at(-1)!;
  const outBatch = outShape.slice(0, -2);
  const b = new Bindings(ctx);
  const outs = node.outputs.map((_, k) => b.output(node, k));
  const ins = node.inputs.map((_, k) => b.input(ctx, node, k));
  if (prologue?.global && rowWorkgroup === undefined) throw new Error(`matmul '${node.name}': a global mean is read through only by a row-softmax head (fuseEpilogues)`);
  const stage: GlobalMeanStage | undefined = prologue?.global ? globalMeanStage('pooledA', prologue, ins[ai], 'r', rowWorkgroup!) : undefined;
  const consts: string[] = stage ? stage.decls : prologue ? [poolReadWgsl('pooledA', prologue, ins[ai])] : [];
  const epilogueBody = epilogue(withoutPrologue(body, prologue));
  const chain = chainLines(epilogueBody, (k) => broadcastRead(ins[k], inputTypes[k].shape as number[], outShape), consts);
  const needsCoords = node.inputs.some((_, k) => k !== ai && k !== bi && !sameShape(inputTypes[k].shape as number[], outShape));
  return {
    b, outs, chain, consts, M, N, K,
    batches: numel(outBatch),
    coords: needsCoords ? unravel('i', outShape) : [],
    shared: {
      M, N, K,
      a: prologue ? 'pooledA' : ins[ai],
      b: ins[bi],
      aBatchOffset: batchOffset(aShape.slice(0, -2), outBatch, M * K),
      bBatchOffset: batchOffset(bShape.slice(0, -2), outBatch, K * N),
    },
    tA, tB, ai, bi, epilogueBody,
    pooledA: !!prologue,
    stage,
  };
}

const headerOf = (b: Bindings, consts: string[], code: string, quads = false) => b.header([...consts, ...helpersUsed(code).map((h) => WGSL_HELPERS[h])], { quads });

/**
 * A matmul, alone or with its fused epilogue (bias, activation, residual): the register-blocked GEMM
 * (shaders/gemm.wgsl.hbs), or one invocation per column when there are only a few rows.
 */
export function lowerMatmul(node: Node, ctx: LowerContext): KernelSpec[] {
  const inputTypes = node.inputs.map((r) => ctx.type(r));
  const body = bodyOf(node, inputTypes);
  const last = body.nodes.find((n) => n.id === body.outputs[0].node)!;
  if (last.op === 'softmax' || last.op === 'logSoftmax') return lowerMatmulRowSoftmax(node, ctx, last);
  const s = setup(node, ctx, (x) => x);
  const stores = s.chain.results.map((r, k) => `${s.outs[k]}(i, ${r});`);
  const epilogue = [...s.chain.lines, ...stores];
  if (s.M <= GEMV_MAX_ROWS) {
    const g = gemvData(gemvShape(s.N, s.batches, ctx.profile.minWorkgroups, !s.tB), s.N, s.batches, s.shared.b, s.tB ? 'col0 * K + k' : 'k * N + col0');
    const common = { ...headerOf(s.b, s.consts, epilogue.join('\n'), g.data.quad), ...s.shared, coords: s.coords, epilogue };
    const wgsl = render('matmul-gemv', { ...common, ...g.data, aIndex: s.tA ? 'k * M + row' : 'row * K + k' });
    return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: g.workgroupSize, dispatch: g.dispatch, operands: s.b.operands, quads: g.data.quad }];
  }
  const order = { a: s.tA ? 'm' : 'k', b: s.tB ? 'k' : 'n' } as const;
  const precision = gemmPrecision(ctx.profile);
  const single = s.batches === 1 && !s.pooledA;
  const problem = { M: s.M, N: s.N, K: s.K, ai: s.ai, bi: s.bi, tA: s.tA, tB: s.tB, epilogue: s.epilogueBody, coords: s.coords };
  const chunks = precision === 'f32' && single ? splitKChunks(s.M, s.N, s.K, ctx.profile.minWorkgroups, ctx.profile.workgroupStorage) : 1;
  if (chunks > 1) return lowerSplitK(node, ctx, problem, chunks);
  // Long-K products (weight gradients, K = the batch) leave a tensor-core grid as empty as an f32 one, so
  // mixed bundles split them in f32 too: the bench MLP's mixed train step at batch 4096 took 2.55 ms with them whole, 1.01 split
  // (H100, input on the GPU), and its mixed predict kernels at batch 32 0.0314 ms on tensor cores, 0.0240 split (`…-session17-long-k-mixed-predict-ab.log`).
  const longK = single ? longKChunks(s.M, s.N, s.K, ctx.profile.minWorkgroups, ctx.profile.workgroupStorage) : 1;
  if (longK > 1) return lowerSplitK(node, ctx, problem, longK, true);
  // f16 staging converts each element anyway; the f32 GEMM measured 6% slower with quads on the H200
  // (31.2 against 33.0 TFLOP/s at 4096³: its multiply loop, not staging, is the limit).
  const quads = precision === 'f32' ? { quadA: false, quadB: false } : { ...quadOperands(s.K, s.N, order), ...(s.pooledA ? { quadA: false } : {}) };
  const loaders = [
    `fn loadA(batch: u32, row: u32, ka: u32) -> f32 { if (EDGE_A && (row >= M || ka >= K)) { return 0.0; } return ${s.shared.a}(${s.shared.aBatchOffset} + ${s.tA ? 'ka * M + row' : 'row * K + ka'}); }`,
    `fn loadB(batch: u32, kb: u32, col: u32) -> f32 { if (EDGE_B && (kb >= K || col >= N)) { return 0.0; } return ${s.shared.b}(${s.shared.bBatchOffset} + ${s.tB ? 'col * K + kb' : 'kb * N + col'}); }`,
    // K (or N) a multiple of 4: a quad is wholly inside or wholly past the matrix.
    ...(quads.quadA ? [`fn loadA4(batch: u32, row: u32, ka: u32) -> vec4<f32> { if (EDGE_A && (row >= M || ka >= K)) { return vec4<f32>(0.0); } return ${s.shared.a}q(${s.shared.aBatchOffset} + row * K + ka); }`] : []),
    ...(quads.quadB ? [`fn loadB4(batch: u32, kb: u32, col: u32) -> vec4<f32> { if (EDGE_B && (kb >= K || col >= N)) { return vec4<f32>(0.0); } return ${s.shared.b}q(${s.shared.bBatchOffset} + kb * N + col); }`] : []),
  ];
  const anyQuads = quads.quadA || quads.quadB;
  const common = { ...headerOf(s.b, s.consts, epilogue.join('\n'), anyQuads), ...s.shared, coords: s.coords, epilogue };
  if (precision === 'mma') {
    const g = mmaGemm(s.M, s.N, s.K, loaders, s.batches, ctx.profile.minWorkgroups, order, quads, ctx.profile.workgroupStorage);
    const wgsl = render('gemm-mma', { ...common, ...g.data });
    return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: g.workgroupSize, dispatch: g.dispatch, operands: s.b.operands, features: g.features, quads: anyQuads }];
  }
  const f16 = precision === 'f16';
  const wgsl = render('gemm', { ...common, ...gemmData(s.M, s.N, s.K, loaders, s.batches, ctx.profile.minWorkgroups, order, quads, true, ctx.profile.workgroupStorage), tileType: f16 ? 'f16' : 'f32', enables: f16 ? ['f16'] : [] });
  return [{ name: node.name, wgsl, entryPoint: 'main', ...gemmDispatch(s.M, s.N, s.K, s.batches, ctx.profile.minWorkgroups, ctx.profile.workgroupStorage), operands: s.b.operands, quads: anyQuads, ...(f16 ? { features: ['shader-f16'] } : {}) }];
}

/** A matmul whose epilogue ends in a softmax over rows: one workgroup per row keeps the row in workgroup memory. */
function lowerMatmulRowSoftmax(node: Node, ctx: LowerContext, softmax: Node): KernelSpec[] {
  const outShape = node.outputs[0].shape as number[];
  const N = outShape.at(-1)!;
  const splitK = N < SPLIT_K_BELOW;
  const rows = numel(outShape.slice(0, -1));
  // A global mean read through is staged by the whole workgroup for its one row.
  const body = bodyOf(node, node.inputs.map((r) => ctx.type(r)));
  const teams = splitK && !poolPrologueOf(body, producerOf(body)!)?.global ? rowTeams(rows, N, ctx.profile.minWorkgroups) : 1;
  const lanes = teams > 1 ? TEAM_LANES : splitK ? splitWorkgroup(N) : ROW_WORKGROUP;
  const wg = teams * lanes;
  const s = setup(node, ctx, (body) => ({ nodes: body.nodes.filter((n) => n !== softmax), outputs: [softmax.inputs[0]] }), wg);
  const groups = Math.ceil(rows / teams);
  const groupsX = Math.min(groups, MAX_GROUPS);
  const wgsl = render('matmul-rowsoftmax', {
    ...headerOf(s.b, s.consts, s.chain.lines.join('\n'), s.stage?.quads),
    stage: s.stage?.stage ?? [],
    ...s.shared,
    wg,
    teams,
    lanes,
    rowBufSize: teams * s.N,
    colsSize: s.N * wg,
    unroll: [0, 1, 2, 3],
    unrollCount: 4,
    groupsX,
    batches: s.batches,
    aIndex: s.tA ? 'k * M + r' : 'r * K + k',
    bIndex: s.tB ? 'col * K + k' : 'k * N + col',
    coords: s.coords,
    epilogue: s.chain.lines,
    value: s.chain.results[0],
    out: s.outs[0],
    log: softmax.op === 'logSoftmax',
    splitK,
  });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: [wg, 1, 1], dispatch: [groupsX, Math.ceil(groups / groupsX), 1], operands: s.b.operands }];
}
