/**
 * rnnSequenceGrad on the GPU: what each step saw, recorded by the forward (`recorded`) or else by the
 * forward run again (the loop kernel of rnn-sequence in record mode); the backward walk through time, one workgroup per batch row with dh
 * and dc in workgroup memory and the gate gradients in scratch; then dx, and dW, dR and db, the
 * latter three sums over steps × rows as split-K GEMMs (chunked over steps × rows when long).
 */
import type { Node } from '../../ir/types.js';
import { getOp, withDefaults } from '../../ir/registry.js';
import { rnnLayout } from '../../ir/ops/recurrent.js';
import { differentiableInputs, forwardCount, gradLayout, recordCount } from '../../ir/ops/recurrent-grad.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { dispatch1d } from '../indexing.js';
import { kChunks, splitGemm, sumChunksKernel } from './split-gemm.js';
import { gemmData, gemmDispatch } from './gemm.js';
import { Bindings } from './bindings.js';
import { activationWgsl, dropoutLive, grid, renderWithHelpers, rnnKernelGeometry, seedWgsl } from './recurrent.js';
import { experimentEnv } from '../experiment-env.js';
import { UnsupportedOpError } from './index.js';
import { DEFAULT_WORKGROUP_STORAGE } from '../profile.js';

/** WGSL of each recurrent activation's derivative at its input x. */
const DERIVATIVE_WGSL: Readonly<Record<string, string>> = {
  linear: '1.0',
  tanh: '(1.0 - tanh(clamp(x, -15.0, 15.0)) * tanh(clamp(x, -15.0, 15.0)))',
  sigmoid: '(k_sigmoid(x) * (1.0 - k_sigmoid(x)))',
  hardSigmoid: 'select(0.0, 0.2, x > -2.5 && x < 2.5)',
  relu: 'select(0.0, 1.0, x > 0.0)',
  relu6: 'select(0.0, 1.0, x > 0.0 && x < 6.0)',
  softsign: '(1.0 / ((1.0 + abs(x)) * (1.0 + abs(x))))',
  softplus: 'k_sigmoid(x)',
  swish: '(k_sigmoid(x) * (1.0 + x * (1.0 - k_sigmoid(x))))',
};

function derivativeWgsl(node: Node, name: string): string {
  const d = DERIVATIVE_WGSL[name];
  if (!d) throw new UnsupportedOpError(`node '${node.name}': no WGSL derivative for recurrent activation '${name}'`, { node: node.name });
  return d;
}

/** Lanes beyond the walk back's slots (rows × units) share each slot's G terms of dh's product with R. */
const partsOf = (slots: number, wg: number) => Math.max(1, Math.floor(wg / slots));

/**
 * Rows a workgroup of the walk back takes, from a batch of `from`. The bench LSTM's step on an H100
 * (`…-session11-lstm-walk-rows.log`): with 4 rows 1.42 against 1.52 ms at batch 4096 and 0.64 against
 * 0.66 at 1024, the same at 256; 2 rows were slower at every batch, 8 no better than 4.
 */
const BACKWARD_ROWS: readonly { rows: number; from: number }[] = [
  { rows: 4, from: 1024 },
  { rows: 1, from: 0 },
];

/**
 * Rows of the batch each workgroup of the walk back takes, within WebGPU's 16 KiB for dh, dc, dhd and
 * the partial sums. `KILN_RNN_BACKWARD_RPW=n` forces at most n (1, 2, 4 or 8; Node only, for experiments).
 */
export function backwardRows(B: number, U: number, wg: number): number {
  const fits = (r: number) => r === 1 || 4 * (3 * r * U + partsOf(r * U, wg) * r * U) <= DEFAULT_WORKGROUP_STORAGE;
  const forced = Number(experimentEnv('KILN_RNN_BACKWARD_RPW') ?? 0);
  if (forced) return [8, 4, 2, 1].find((r) => r <= forced && fits(r)) ?? 1;
  return BACKWARD_ROWS.find((c) => B >= c.from && fits(c.rows))?.rows ?? 1;
}

/**
 * k-values (steps × rows) per chunk of the weight sums. Each chunk's workgroups walk their k-values in
 * order, latency-bound, so short chunks and many workgroups win: the bench LSTM's step on an H100 took
 * 0.92 against 1.26 ms of kernels at batch 4096 with 128 against 4096 (dW 0.29 → 0.10 ms, dR 0.26 →
 * 0.08), 0.36 against 0.57 at 1024, 0.26 against 0.33 at 256; 256 tied (`…-session12-split-chunks*.log`).
 * `KILN_RNN_SUM_CHUNK_K=n` forces n (Node only, for experiments).
 */
const SUM_CHUNK_K = 128;
const sumChunkK = () => Number(experimentEnv('KILN_RNN_SUM_CHUNK_K') ?? SUM_CHUNK_K);

/** Lowers rnnSequenceGrad: the replay (without records), walk back, then the four gradient reductions. */
export function lowerRecurrentGrad(node: Node, ctx: LowerContext): KernelSpec[] {
  const attrs = withDefaults(getOp(node.op), node.attrs);
  const g = gradLayout(attrs);
  const nFwd = forwardCount(node.inputs.length, attrs);
  const L = rnnLayout(attrs, nFwd);
  const geo = rnnKernelGeometry(node, ctx, L);
  const { B, T, F, U, G, wg } = geo;
  const lstm = L.cell === 'lstm';
  const gruBefore = L.cell === 'gru' && !L.resetAfter;
  const dropout = dropoutLive(node, ctx, L);
  const floats = (n: number) => ctx.scratch(4 * n);
  // What each step saw: the forward's records (inputs after the output gradients), or scratch the replay fills.
  const recorded = recordCount(attrs) > 0;
  const recordInput = { hm: 0, z: 1, c: lstm ? 2 : -1, aux: L.resetAfter ? 2 + Number(lstm) : -1 };
  const firstRecord = node.inputs.length - recordCount(attrs);
  const rec = recorded ? undefined : { hm: floats(T * B * U), z: floats(T * B * G), c: floats(lstm ? (T + 1) * B * U : 1), aux: floats(L.resetAfter ? T * B * U : 1) };
  const readRecord = (b: Bindings, which: keyof typeof recordInput) => (rec ? b.scratch(rec[which], 'in') : b.input(ctx, node, firstRecord + recordInput[which]));
  // Only a GRU's recurrent-side gate gradients differ from its input side's: other cells read dzi for both.
  const gru = L.cell === 'gru';
  const dzi = floats(T * B * G);
  const dz = { i: dzi, r: gru ? floats(T * B * G) : dzi };
  const kernels: KernelSpec[] = [];
  const step = (b: Bindings) => (L.step >= 0 ? b.input(ctx, node, L.step) : undefined);
  const common = {
    B, T, F, U, G, wg,
    act: activationWgsl(L.activation), ract: activationWgsl(L.recurrentActivation),
    dact: derivativeWgsl(node, L.activation), dract: L.cell === 'simple' ? '1.0' : derivativeWgsl(node, L.recurrentActivation),
    simple: L.cell === 'simple', lstm, gru: L.cell === 'gru', resetAfter: L.resetAfter, gruBefore, backwards: L.goBackwards,
    inRate: L.dropout, inScale: 1 / (1 - L.dropout), recRate: L.recurrentDropout, recScale: 1 / (1 - L.recurrentDropout),
    inDropout: dropout && L.dropout > 0, recDropout: dropout && L.recurrentDropout > 0, dropout,
  };

  // 1. Without the forward's records, the forward again, recording each step's inputs to the gates.
  if (rec) {
    kernels.push(...geo.forwardKernels(node, ctx, L, (b) => ({
      record: true,
      hmRec: b.scratch(rec.hm, 'out'), zRec: b.scratch(rec.z, 'out'),
      cRec: lstm ? b.scratch(rec.c, 'out') : '', auxRec: L.resetAfter ? b.scratch(rec.aux, 'out') : '',
    })));
  }

  // 2. R transposed into scratch, then the walk back through time. Read in place (R[u·G + j] by lanes of
  // consecutive u, a stride of G), the LSTM's walk took 1.44 ms of a 2.88 ms step at batch 4096 on an H100.
  const rT = floats(U * G);
  {
    const t = new Bindings(ctx);
    const R0 = t.input(ctx, node, 2);
    const sw = t.scratch(rT, 'out');
    const { dispatch, flatIndex } = dispatch1d(U * G, 64);
    const lines = [`let j = i / ${U}u; let u = i % ${U}u;`, `${sw}(i, ${R0}(u * ${G}u + j));`];
    kernels.push({ name: `${node.name}/R transposed`, wgsl: renderWithHelpers('elementwise', t, { wg: 64, flatIndex, count: U * G, coords: [], epilogue: lines }), entryPoint: 'main', workgroupSize: [64, 1, 1], dispatch, operands: t.operands });
  }
  const outIndex = new Map(differentiableInputs(L).map((input, i) => [input, i]));
  const bw = new Bindings(ctx);
  const dh0 = L.h0 >= 0 ? bw.output(node, outIndex.get(L.h0)!) : '';
  const dc0 = L.c0 >= 0 ? bw.output(node, outIndex.get(L.c0)!) : '';
  const [dziW, dziR] = [bw.scratch(dz.i, 'out'), bw.scratch(dz.i, 'in')];
  const [dzrW, dzrR] = gru ? [bw.scratch(dz.r, 'out'), bw.scratch(dz.r, 'in')] : ['', dziR];
  const hm = readRecord(bw, 'hm');
  const z = readRecord(bw, 'z');
  const c = lstm ? readRecord(bw, 'c') : '';
  const aux = L.resetAfter ? readRecord(bw, 'aux') : '';
  const RT = bw.scratch(rT, 'in');
  const rpw = backwardRows(B, U, wg);
  const slots = rpw * U;
  const parts = partsOf(slots, wg);
  // The step's recurrent-side gradients in workgroup memory beside dh, dc, dhd and the partial sums, where
  // they fit: read back from scratch, each of phase C's loads went to L2 after a storage barrier.
  const dzShared = 4 * (rpw * G + 3 * slots + parts * slots) <= DEFAULT_WORKGROUP_STORAGE;
  const walkRows = grid(Math.ceil(B / rpw));
  const mask = L.mask >= 0 ? bw.input(ctx, node, L.mask) : '';
  const training = dropout ? bw.input(ctx, node, L.training) : '';
  let k = nFwd;
  const dy = g.dy ? bw.input(ctx, node, k++) : '';
  const dhT = g.dh ? bw.input(ctx, node, k++) : '';
  const dcT = g.dc ? bw.input(ctx, node, k++) : '';
  const backward = renderWithHelpers('rnn-backward', bw, {
    ...common, rowStride: walkRows[0], rpw, slots, dzsSize: rpw * G, dh0, dc0, dziW, dziR, dzrW, dzrR, hm, z, c, aux, RT, parts, partialSize: parts * slots, mask,
    dzShared, dzFromI: dzShared && !gru, globalReads: !dzShared || gruBefore, training, dy, dhT, dcT,
    dyLast: g.dy && !L.returnSequences, dySeq: g.dy && L.returnSequences, seedH: seedWgsl((L.seed + 1) >>> 0, step(bw)),
  });
  kernels.push({ name: `${node.name}/through-time`, wgsl: backward, entryPoint: 'main', workgroupSize: [wg, 1, 1], dispatch: [walkRows[0], walkRows[1], 1], operands: bw.operands });

  // 3. dx, dW, dR, db.
  // dx[b, tt, f] = mask · Σ_j dzi[r, j] · W[f, j], r = t·B + b the step that read input step tt: a GEMM
  // over the recorded rows (W read k-contiguous, as its transpose), stored back in [B, T, F] order.
  {
    const b = new Bindings(ctx);
    const out = b.output(node, outIndex.get(0)!);
    const dzi = b.scratch(dz.i, 'in');
    const W = b.input(ctx, node, 1);
    const dropoutX = common.inDropout;
    const trainingIn = dropoutX ? b.input(ctx, node, L.training) : '';
    const loaders = [
      `fn loadA(batch: u32, row: u32, ka: u32) -> f32 { if (row >= M || ka >= K) { return 0.0; } return ${dzi}(row * K + ka); }`,
      `fn loadB(batch: u32, kb: u32, col: u32) -> f32 { if (kb >= K || col >= N) { return 0.0; } return ${W}(col * K + kb); }`,
    ];
    const tt = L.goBackwards ? `${T - 1}u - row / ${B}u` : `row / ${B}u`;
    const mask = dropoutX ? ` * select(1.0, select(0.0, ${common.inScale}, k_uniform(${seedWgsl(L.seed, step(b))}, (row % ${B}u) * ${F}u + col) >= ${L.dropout}), ${trainingIn}(0u) != 0i)` : '';
    const epilogue = [`${out}(((row % ${B}u) * ${T}u + ${tt}) * ${F}u + col, acc${mask});`];
    const data = gemmData(T * B, F, G, loaders, 1, ctx.profile.minWorkgroups, { a: 'k', b: 'k' }, undefined, true, ctx.profile.workgroupStorage);
    const wgsl = renderWithHelpers('gemm', b, { ...data, coords: [], epilogue, tileType: 'f32', enables: [] });
    kernels.push({ name: `${node.name}/dx`, wgsl, entryPoint: 'main', ...gemmDispatch(T * B, F, G, 1, ctx.profile.minWorkgroups, ctx.profile.workgroupStorage), operands: b.operands });
  }

  // dW = xmᵀ·dzi, dR = hmᵀ·dzr, db = 1ᵀ·[dzi | dzr]: K runs over r = t·B + b, the rows of the recorded gates.
  const sums = (mode: 'dw' | 'dr' | 'db', input: number, M: number, N: number) => {
    const { chunks, kc } = kChunks(T * B, sumChunkK(), M * N);
    const b = new Bindings(ctx);
    const out = chunks === 1 ? b.output(node, outIndex.get(input)!) : '';
    const partials = chunks === 1 ? undefined : ctx.scratch(4 * chunks * M * N);
    const sw = partials ? b.scratch(partials, 'out') : '';
    const dzi = b.scratch(dz.i, 'in');
    const dzr = mode === 'dr' || (mode === 'db' && L.resetAfter) ? b.scratch(dz.r, 'in') : '';
    const x = mode === 'dw' ? b.input(ctx, node, 0) : '';
    const hmIn = mode === 'dr' ? readRecord(b, 'hm') : '';
    const dropoutX = mode === 'dw' && common.inDropout;
    const trainingIn = dropoutX ? b.input(ctx, node, L.training) : '';
    const seedX = seedWgsl(L.seed, dropoutX ? step(b) : undefined);
    // The chunk arrives as the GEMM's batch; k within it is offset to r.
    const r = `let r = batch * ${kc}u + kk; if (row >= M || kk >= K || r >= ${T * B}u) { return 0.0; }`;
    const tt = L.goBackwards ? `${T - 1}u - r / ${B}u` : `r / ${B}u`;
    const loadA = {
      dw: `${r} let b = r % ${B}u; let v = ${x}((b * ${T}u + ${tt}) * ${F}u + row);${dropoutX ? ` let training = ${trainingIn}(0u) != 0i; let seedX = ${seedX}; return v * select(1.0, select(0.0, ${common.inScale}, k_uniform(seedX, b * ${F}u + row) >= ${L.dropout}), training);` : ' return v;'}`,
      dr: `${r} return ${hmIn}(r * ${U}u + row);`,
      db: `${r} return 1.0;`,
    }[mode];
    const loadB = {
      dw: `${dzi}(r * ${G}u + col)`,
      dr: `${dzr}(r * ${G}u + col)`,
      // With resetAfter, db's second half is the recurrent bias row: Σ dzr.
      db: L.resetAfter ? `select(${dzr}(r * ${G}u + col % ${G}u), ${dzi}(r * ${G}u + col % ${G}u), col < ${G}u)` : `${dzi}(r * ${G}u + col)`,
    }[mode];
    const loaders = [
      `fn loadA(batch: u32, row: u32, kk: u32) -> f32 { ${loadA} }`,
      `fn loadB(batch: u32, kk: u32, col: u32) -> f32 { let r = batch * ${kc}u + kk; if (kk >= K || r >= ${T * B}u || col >= N) { return 0.0; } return ${loadB}; }`,
      `fn store(batch: u32, row: u32, col: u32, v: f32) { ${partials ? `${sw}((batch * M + row) * N + col, v)` : `${out}(row * N + col, v)`}; }`,
    ];
    // A's rows are x's features or hm's units, contiguous; its k-values (steps × rows) are T·F or U apart.
    const kernel = splitGemm(M, N, kc, chunks, loaders, ctx.profile.minWorkgroups, 'm');
    const wgsl = renderWithHelpers('split-gemm', b, kernel.data);
    kernels.push({ name: `${node.name}/${mode}${partials ? ' (partial)' : ''}`, wgsl, entryPoint: 'main', workgroupSize: kernel.workgroupSize, dispatch: kernel.dispatch, operands: b.operands });
    if (partials) kernels.push(sumChunksKernel(ctx, node, outIndex.get(input)!, partials, chunks, M * N, `${node.name}/${mode} (sum)`));
  };
  sums('dw', 1, F, G);
  // A GRU resetting before the product multiplies by r inside dR's sum: not a plain product, so it keeps a lane per output.
  if (gruBefore) {
    const b = new Bindings(ctx);
    const out = b.output(node, outIndex.get(2)!);
    const [dzi, dzr, hmIn, zIn] = [b.scratch(dz.i, 'in'), b.scratch(dz.r, 'in'), readRecord(b, 'hm'), readRecord(b, 'z')];
    const { dispatch, flatIndex } = dispatch1d(U * G, 64);
    const wgsl = renderWithHelpers('rnn-grad-reduce', b, { ...common, count: U * G, flatIndex, out, dzi, dzr, hm: hmIn, z: zIn });
    kernels.push({ name: `${node.name}/dr`, wgsl, entryPoint: 'main', workgroupSize: [64, 1, 1], dispatch, operands: b.operands });
  } else sums('dr', 2, U, G);
  if (L.bias >= 0) sums('db', L.bias, 1, L.resetAfter ? 2 * G : G);
  return kernels;
}
