/**
 * Lowerings of the convolution gradients (conv2dBackpropInput / Filter and the depthwise pair) as
 * implicit GEMMs on the split-K kernel (shaders/split-gemm.wgsl.hbs); the loaders gather the
 * operands with the forward op's TF window, so they are its exact transposes (src/ir/ops/conv-grad.ts).
 *
 * - conv2dBackpropFilter: dw[(tap, ci), co] = Σ_{(n, oy, ox)} patch(x)[(tap, ci), (n, oy, ox)] · dy[(n, oy, ox), co].
 * - conv2dBackpropInput:  dx[(n, iy, ix), ci] = Σ_{(tap, co)} dy[window that puts tap on (iy, ix), co] · w[tap, ci, co].
 * - the depthwise ones run the same products once per input channel c (the batch index of the GEMM),
 *   with m (the multiplier) in place of the output channels.
 */
import type { Node } from '../../ir/types.js';
import { concreteWindow, type Padding } from '../../ir/ops/window.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { render } from '../templates.js';
import { dispatch1d } from '../indexing.js';
import { Bindings } from './bindings.js';
import { kChunks, splitGemm, sumChunksKernel } from './split-gemm.js';
import { haloConv, haloTile, quadEpilogue } from './conv-halo.js';
import { convMmaTile, mmaConv } from './conv-mma.js';
import { filterGradMmaKernel, filterGradMmaPlan } from './conv-filter-grad-mma.js';
import { DEFAULT_WORKGROUP_STORAGE, gemmPrecision } from '../profile.js';
import { convKernelFromEnv, type ConvGeometry } from './conv.js';
import { filterGradKernel, filterGradPlan } from './conv-filter-grad.js';
import { bodyOf, producerOf, type Body } from '../chain.js';
import { epilogueCode, producerParam } from './epilogue.js';
import { unravel } from '../indexing.js';

/** Static geometry of a conv gradient: the forward op's input [n, H, W, CIN], output [n, OH, OW, C], kernel [KH, KW, CIN, LAST]. */
export interface GradGeometry {
  readonly depthwise: boolean;
  readonly n: number;
  readonly H: number;
  readonly W: number;
  readonly CIN: number;
  readonly OH: number;
  readonly OW: number;
  /** Channels of dy: LAST for conv2d, CIN·LAST for depthwise. */
  readonly C: number;
  readonly KH: number;
  readonly KW: number;
  /** Last kernel dim: output channels (conv2d) or the multiplier (depthwise). */
  readonly LAST: number;
  readonly SH: number;
  readonly SW: number;
  readonly DH: number;
  readonly DW: number;
  readonly TOP: number;
  readonly LEFT: number;
}

const pair = (node: Node, key: string) => ((node.attrs[key] as number[] | undefined) ?? [1, 1]) as [number, number];

/** The geometry from the node's operands: (dy, w) for the input gradients, (x, dy) for the filter ones. */
function geometry(node: Node, ctx: LowerContext): GradGeometry {
  const [a, b] = node.inputs.map((r) => ctx.type(r).shape as number[]);
  const depthwise = node.op.startsWith('depthwise');
  const wrtInput = node.op.endsWith('Input');
  const dy = wrtInput ? a : b;
  const x = wrtInput ? [dy[0], ...pair(node, 'inputSize'), b[2]] : a;
  const [KH, KW] = wrtInput ? [b[0], b[1]] : pair(node, 'kernelSize');
  const LAST = depthwise ? dy[3] / x[3] : dy[3];
  const [strides, dilations] = [pair(node, 'strides'), pair(node, 'dilations')];
  const padding = (node.attrs.padding as Padding | undefined) ?? 'valid';
  const { oh, ow, top, left } = concreteWindow(x, { kernel: [KH, KW], strides, dilations, padding });
  if (oh !== dy[1] || ow !== dy[2]) throw new Error(`'${node.name}': dy [${dy}] is not the forward output for input [${x}]`);
  return {
    depthwise, n: x[0], H: x[1], W: x[2], CIN: x[3], OH: oh, OW: ow, C: dy[3], KH, KW, LAST,
    SH: strides[0], SW: strides[1], DH: dilations[0], DW: dilations[1], TOP: top, LEFT: left,
  };
}

/** Loaders of the filter gradient: A is the input patch matrix (rows are kernel taps × channels), B is dy. */
function filterLoaders(g: GradGeometry, x: string, dy: string, out: string): string[] {
  const tap = g.depthwise ? 'row' : `row / ${g.CIN}u`;
  const ci = g.depthwise ? 'batch' : `row % ${g.CIN}u`;
  return [
    `fn loadA(batch: u32, row: u32, k: u32) -> f32 {
    if (row >= M || k >= K) { return 0.0; }
    let tap = ${tap}; let ci = ${ci};
    let ox = k % ${g.OW}u; let q = k / ${g.OW}u; let oy = q % ${g.OH}u; let n = q / ${g.OH}u;
    let iy = i32(oy * ${g.SH}u + (tap / ${g.KW}u) * ${g.DH}u) - ${g.TOP}i;
    let ix = i32(ox * ${g.SW}u + (tap % ${g.KW}u) * ${g.DW}u) - ${g.LEFT}i;
    if (iy < 0i || iy >= ${g.H}i || ix < 0i || ix >= ${g.W}i) { return 0.0; }
    return ${x}(((n * ${g.H}u + u32(iy)) * ${g.W}u + u32(ix)) * ${g.CIN}u + ci);
}`,
    `fn loadB(batch: u32, k: u32, col: u32) -> f32 {
    if (k >= K || col >= N) { return 0.0; }
    return ${dy}(k * ${g.C}u + ${g.depthwise ? `batch * ${g.LAST}u + col` : 'col'});
}`,
    `fn store(batch: u32, row: u32, col: u32, v: f32) { ${out}(${g.depthwise ? `(row * ${g.CIN}u + batch) * ${g.LAST}u + col` : 'row * N + col'}, v); }`,
  ];
}

/**
 * Loaders of the input gradient: A[(n, iy, ix), (tap, j)] is dy at the output pixel whose window puts
 * that tap on (iy, ix), or 0 where none does (stride gaps, borders); B is the kernel, read as [(tap, j), ci].
 */
function inputLoaders(g: GradGeometry, dy: string, w: string, out: string): string[] {
  const ci = g.depthwise ? 'batch' : 'col';
  return [
    `fn loadA(batch: u32, row: u32, k: u32) -> f32 {
    if (row >= M || k >= K) { return 0.0; }
    let j = k % ${g.LAST}u; let tap = k / ${g.LAST}u;
    let ix = row % ${g.W}u; let q = row / ${g.W}u; let iy = q % ${g.H}u; let n = q / ${g.H}u;
    let ty = i32(iy) + ${g.TOP}i - i32((tap / ${g.KW}u) * ${g.DH}u);
    let tx = i32(ix) + ${g.LEFT}i - i32((tap % ${g.KW}u) * ${g.DW}u);
    if (ty < 0i || tx < 0i || ty % ${g.SH}i != 0i || tx % ${g.SW}i != 0i) { return 0.0; }
    let oy = u32(ty / ${g.SH}i); let ox = u32(tx / ${g.SW}i);
    if (oy >= ${g.OH}u || ox >= ${g.OW}u) { return 0.0; }
    return ${dy}(((n * ${g.OH}u + oy) * ${g.OW}u + ox) * ${g.C}u + ${g.depthwise ? `batch * ${g.LAST}u + j` : 'j'});
}`,
    `fn loadB(batch: u32, k: u32, col: u32) -> f32 {
    if (k >= K || col >= N) { return 0.0; }
    let j = k % ${g.LAST}u; let tap = k / ${g.LAST}u;
    return ${w}((tap * ${g.CIN}u + ${ci}) * ${g.LAST}u + j);
}`,
    `fn store(batch: u32, row: u32, col: u32, v: f32) { ${out}(row * ${g.CIN}u + ${ci}, v); }`,
  ];
}

/**
 * k-values per chunk of a filter gradient: on the H200 the ResNet's 3×3 filter gradients at batch 256
 * took 0.86 ms with chunks of 4096, 0.68 with 1024, 0.64 + 0.09 (the larger sum) with 512.
 */
const FILTER_CHUNK_K = 1024;

/**
 * conv2dBackpropFilter with a long K (batch·pixels): the K range is cut into chunks that run as
 * separate workgroups (the GEMM's batch axis), each writing its partial dw to scratch; a second
 * kernel sums the chunks in order (deterministic). One workgroup no longer walks all of K.
 */
function chunkedFilterGrad(node: Node, ctx: LowerContext, g: GradGeometry): KernelSpec[] {
  const [M, N, K] = [g.KH * g.KW * g.CIN, g.LAST, g.n * g.OH * g.OW];
  const { chunks, kc } = kChunks(K, FILTER_CHUNK_K);
  const partials = ctx.scratch(4 * chunks * M * N);
  const p = new Bindings(ctx);
  p.output(node);
  const [x, dy] = [p.input(ctx, node, 0), p.input(ctx, node, 1)];
  const sw = p.scratch(partials, 'out');
  // The chunk index arrives as the GEMM's batch; k within a chunk is offset to the real k.
  const loaders = filterLoaders(g, x, dy, 'unused').map((f) =>
    f
      .replace('fn loadA(batch: u32, row: u32, k: u32) -> f32 {\n    if (row >= M || k >= K) { return 0.0; }', `fn loadA(batch: u32, row: u32, kk: u32) -> f32 {\n    let k = batch * ${kc}u + kk;\n    if (row >= M || kk >= K || k >= ${K}u) { return 0.0; }`)
      .replace('fn loadB(batch: u32, k: u32, col: u32) -> f32 {\n    if (k >= K || col >= N) { return 0.0; }', `fn loadB(batch: u32, kk: u32, col: u32) -> f32 {\n    let k = batch * ${kc}u + kk;\n    if (kk >= K || k >= ${K}u || col >= N) { return 0.0; }`)
      .replace(/fn store\(batch: u32, row: u32, col: u32, v: f32\) \{.*\}$/s, `fn store(batch: u32, row: u32, col: u32, v: f32) { ${sw}((batch * M + row) * N + col, v); }`),
  );
  const kernel = splitGemm(M, N, kc, chunks, loaders, ctx.profile.minWorkgroups);
  const first = { name: `${node.name} (partial)`, wgsl: render('split-gemm', { ...p.header(), ...kernel.data }), entryPoint: 'main', workgroupSize: kernel.workgroupSize, dispatch: kernel.dispatch, operands: p.operands };
  return [first, sumChunksKernel(ctx, node, 0, partials, chunks, M * N, `${node.name} (sum)`)];
}

/**
 * A conv2dBackpropInput alone, or as the producer of a fused epilogue (the gradient's accumulation,
 * relu's mask: fuseEpilogues): which node inputs are dy and w, and the body when fused.
 */
interface InputGradTarget {
  readonly node: Node;
  /** The conv2dBackpropInput itself, with dy and w as inputs of `node` (for its geometry). */
  readonly view: Node;
  readonly dy: number;
  readonly w: number;
  readonly body?: Body;
}

/** The target of a conv2dBackpropInput node, or of a fused node it leads. */
function inputGradTarget(node: Node, ctx: LowerContext): InputGradTarget {
  if (node.op !== 'fused') return { node, view: node, dy: 0, w: 1 };
  const body = bodyOf(node, node.inputs.map((r) => ctx.type(r)));
  const producer = producerOf(body)!;
  const [dy, w] = [producerParam(body, 0), producerParam(body, 1)];
  return { node, view: { ...producer, inputs: [node.inputs[dy], node.inputs[w]] }, dy, w, body };
}

/**
 * Binds a target's outputs, then every input, on `b`; returns the inputs' accessors and the WGSL that
 * stores accumulation `acc` at flat output index `i` (the epilogue's chain, or the plain store).
 */
function bindInputGrad(t: InputGradTarget, ctx: LowerContext, b: Bindings): { ins: string[]; outs: string[]; lines: string[]; helpers: string[]; coords: string[] } {
  const outs = t.node.outputs.map((_, k) => b.output(t.node, k));
  const ins = t.node.inputs.map((_, k) => b.input(ctx, t.node, k));
  if (!t.body) return { ins, outs, lines: [`${outs[0]}(i, acc);`], helpers: [], coords: [] };
  const outShape = t.node.outputs[0].shape as number[];
  const epi = epilogueCode(t.body, ins, outs, t.node.inputs.map((r) => ctx.type(r)), outShape);
  return { ins, outs, lines: epi.lines, helpers: epi.helpers, coords: epi.needsCoords ? unravel('i', outShape) : [] };
}

/**
 * conv2dBackpropInput of a stride-1 conv as a forward conv: dx is dy convolved with the kernel flipped
 * in both taps and transposed in channels, padded by what the forward window left over ((K − 1)·D − pad).
 * In a mixed bundle with tensor cores, the halo-staged tensor-core conv (shaders/conv-mma.wgsl.hbs) where
 * its tile fits and fills the target; else the f32 halo kernel (shaders/conv-halo.wgsl.hbs). Undefined
 * where neither would run it.
 */
function haloInputGrad(target: InputGradTarget, ctx: LowerContext, g: GradGeometry): KernelSpec[] | undefined {
  const node = target.node;
  // Never the f16 implicit GEMM: it took 0.79 ms for each of the bench ResNet's input gradients at batch 256, the f32 halo kernel 0.155.
  if (g.depthwise || g.SH !== 1 || g.SW !== 1 || convKernelFromEnv() === 'gemm') return undefined;
  const fg: ConvGeometry = {
    depthwise: false, batch: g.n, H: g.OH, W: g.OW, cin: g.LAST, OH: g.H, OW: g.W, cout: g.CIN,
    KH: g.KH, KW: g.KW, SH: 1, SW: 1, DH: g.DH, DW: g.DW,
    top: (g.KH - 1) * g.DH - g.TOP, left: (g.KW - 1) * g.DW - g.LEFT, mult: 1,
  };
  const mma = gemmPrecision(ctx.profile) === 'mma' && !convKernelFromEnv() ? convMmaTile(fg, ctx.profile.minWorkgroups, ctx.profile.workgroupStorage) : undefined;
  const tile = mma ? undefined : haloTile(fg, convKernelFromEnv() === 'halo' ? 1 : ctx.profile.minWorkgroups);
  if (!tile && !mma) return undefined;
  // The kernel flipped and transposed into scratch first, so the halo kernel stages it in memory order: read
  // in place (w[(TAPS − 1 − tap)][co][c], strided), the ResNet's input gradients took 0.251 ms against
  // the forward convs' 0.149 (H100, batch 256).
  const taps = g.KH * g.KW;
  const count = taps * g.LAST * g.CIN;
  const flipped = ctx.scratch(4 * count);
  const t = new Bindings(ctx);
  t.output(node);
  const w0 = t.input(ctx, node, target.w);
  const sw = t.scratch(flipped, 'out');
  const { dispatch, flatIndex } = dispatch1d(count, 64);
  // Element i of the flipped kernel [tap][c][co] (c: dy's channel, co: dx's) is the forward kernel's [TAPS − 1 − tap][co][c].
  const flipLines = [`let co = i % ${g.CIN}u; let c = (i / ${g.CIN}u) % ${g.LAST}u; let tap = i / ${g.CIN * g.LAST}u;`, `${sw}(i, ${w0}(((${taps - 1}u - tap) * ${g.CIN}u + co) * ${g.LAST}u + c));`];
  const flip = { name: `${node.name} (flipped kernel)`, wgsl: render('elementwise', { ...t.header(), wg: 64, flatIndex, count, coords: [], epilogue: flipLines }), entryPoint: 'main', workgroupSize: [64, 1, 1] as [number, number, number], dispatch, operands: t.operands };
  const b = new Bindings(ctx);
  const { ins, outs, lines, helpers, coords } = bindInputGrad(target, ctx, b);
  const w = b.scratch(flipped, 'in');
  const dxShape = [g.n, g.H, g.W, g.CIN];
  if (mma) {
    const main = mmaConv(fg, mma, `${ins[target.dy]}q`, `${w}q`, dxShape, quadEpilogue(lines, outs, 'k'));
    const wgsl = render(main.template, { ...b.header(helpers, { quads: true }), ...main.data, epilogue: lines });
    return [flip, { name: node.name, wgsl, entryPoint: 'main', workgroupSize: main.workgroupSize, dispatch: main.dispatch, operands: b.operands, features: main.features, quads: true }];
  }
  const main = haloConv(fg, tile!, ins[target.dy], w, dxShape);
  const wgsl = render(main.template, { ...b.header(helpers), ...main.data, coords, epilogue: lines });
  return [flip, { name: node.name, wgsl, entryPoint: 'main', workgroupSize: main.workgroupSize, dispatch: main.dispatch, operands: b.operands }];
}

/**
 * conv2dBackpropFilter of a stride-1, undilated conv as the direct kernel (shaders/conv-filter-grad.wgsl.hbs),
 * or in a mixed bundle with tensor cores the tensor-core filter gradient where it runs (mmaFilterGrad):
 * partial sums per chunk of output rows, then their sum in chunk order. Undefined where it does not run
 * (depthwise, strides or dilations, more than 9 taps, staging past the workgroup memory, `KILN_CONV=gemm`).
 */
function directFilterGrad(node: Node, ctx: LowerContext, g: GradGeometry): KernelSpec[] | undefined {
  if (g.depthwise || g.SH !== 1 || g.SW !== 1 || g.DH !== 1 || g.DW !== 1 || convKernelFromEnv() === 'gemm') return undefined;
  const mma = gemmPrecision(ctx.profile) === 'mma' && !convKernelFromEnv() ? mmaFilterGrad(node, ctx, g) : undefined;
  if (mma) return mma;
  const plan = filterGradPlan(g, ctx.profile.workgroupStorage);
  if (!plan) return undefined;
  const [M, N] = [g.KH * g.KW * g.CIN, g.C];
  const partials = ctx.scratch(4 * plan.partialSets * M * N);
  const b = new Bindings(ctx);
  b.output(node);
  const [x, dy] = [b.input(ctx, node, 0), b.input(ctx, node, 1)];
  const sw = b.scratch(partials, 'out');
  const k = filterGradKernel(g, plan, x, dy, sw);
  const first = { name: `${node.name} (partial)`, wgsl: render(k.template, { ...b.header(), ...k.data }), entryPoint: 'main', workgroupSize: k.workgroupSize, dispatch: k.dispatch, operands: b.operands };
  return [first, sumChunksKernel(ctx, node, 0, partials, plan.partialSets, M * N, `${node.name} (sum)`)];
}

/** The tensor-core filter gradient (./conv-filter-grad-mma.ts) and the sum of its chunks, or undefined where it does not run. */
function mmaFilterGrad(node: Node, ctx: LowerContext, g: GradGeometry): KernelSpec[] | undefined {
  const plan = filterGradMmaPlan(g, ctx.profile.workgroupStorage ?? DEFAULT_WORKGROUP_STORAGE);
  if (!plan) return undefined;
  const MN = g.KH * g.KW * g.CIN * g.C;
  const partials = ctx.scratch(4 * plan.chunks * MN);
  const b = new Bindings(ctx);
  b.output(node);
  const [x, dy] = [b.input(ctx, node, 0), b.input(ctx, node, 1)];
  const sw = b.scratch(partials, 'out');
  const k = filterGradMmaKernel(g, plan, `${x}q`, `${dy}q`, sw);
  const first = { name: `${node.name} (partial)`, wgsl: render(k.template, { ...b.header([], { quads: true }), ...k.data }), entryPoint: 'main', workgroupSize: k.workgroupSize, dispatch: k.dispatch, operands: b.operands, features: k.features, quads: true };
  return [first, sumChunksKernel(ctx, node, 0, partials, plan.chunks, MN, `${node.name} (sum)`)];
}

/** conv2dBackpropInput, conv2dBackpropFilter and their depthwise pair: one split-K GEMM kernel each (or the halo kernel, see haloInputGrad, or the direct filter gradient, see directFilterGrad). */
export function lowerConvGrad(node: Node, ctx: LowerContext): KernelSpec[] {
  if (node.op === 'fused' || node.op === 'conv2dBackpropInput') return lowerInputGrad(inputGradTarget(node, ctx), ctx);
  const g = geometry(node, ctx);
  if (node.op === 'conv2dBackpropFilter') {
    const direct = directFilterGrad(node, ctx, g);
    if (direct) return direct;
    if (kChunks(g.n * g.OH * g.OW).chunks > 2) return chunkedFilterGrad(node, ctx, g);
  }
  const b = new Bindings(ctx);
  const out = b.output(node);
  const [a0, a1] = [b.input(ctx, node, 0), b.input(ctx, node, 1)];
  const taps = g.KH * g.KW;
  const pixels = g.n * g.OH * g.OW;
  // [M, N, K, batches]: the depthwise products run once per input channel.
  const problem = node.op.endsWith('Input')
    ? (g.depthwise ? [g.n * g.H * g.W, 1, taps * g.LAST, g.CIN] : [g.n * g.H * g.W, g.CIN, taps * g.LAST, 1])
    : (g.depthwise ? [taps, g.LAST, pixels, g.CIN] : [taps * g.CIN, g.LAST, pixels, 1]);
  const loaders = node.op.endsWith('Input') ? inputLoaders(g, a0, a1, out) : filterLoaders(g, a0, a1, out);
  const [M, N, K, batches] = problem;
  const kernel = splitGemm(M, N, K, batches, loaders, ctx.profile.minWorkgroups);
  const wgsl = render('split-gemm', { ...b.header(), ...kernel.data });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: kernel.workgroupSize, dispatch: kernel.dispatch, operands: b.operands }];
}

/** conv2dBackpropInput, alone or with a fused epilogue: the halo kernel where it runs, else the split-K GEMM with the epilogue in its store. */
function lowerInputGrad(target: InputGradTarget, ctx: LowerContext): KernelSpec[] {
  const g = geometry(target.view, ctx);
  const halo = haloInputGrad(target, ctx, g);
  if (halo) return halo;
  const b = new Bindings(ctx);
  const { ins, lines, helpers, coords } = bindInputGrad(target, ctx, b);
  const [loadA, loadB] = inputLoaders(g, ins[target.dy], ins[target.w], 'unused');
  const store = [`fn store(batch: u32, row: u32, col: u32, v: f32) {`, `    let i = row * ${g.CIN}u + col;`, `    let acc = v;`, ...[...coords, ...lines].map((l) => `    ${l}`), `}`].join('\n');
  const kernel = splitGemm(g.n * g.H * g.W, g.CIN, g.KH * g.KW * g.LAST, 1, [loadA, loadB, store], ctx.profile.minWorkgroups);
  const wgsl = render('split-gemm', { ...b.header(helpers), ...kernel.data });
  return [{ name: target.node.name, wgsl, entryPoint: 'main', workgroupSize: kernel.workgroupSize, dispatch: kernel.dispatch, operands: b.operands }];
}
