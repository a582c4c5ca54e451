import type { Node } from '../../ir/types.js';
import { concreteWindow, type Padding } from '../../ir/ops/window.js';
import type { KernelSpec, LowerContext } from '../kernel.js';
import { bodyOf, producerOf } from '../chain.js';
import { MAX_GROUPS, dispatch1d, numel, unravel } from '../indexing.js';
import { render } from '../templates.js';
import { Bindings } from './bindings.js';
import { epilogueCode, producerParam } from './epilogue.js';
import { foldedGemmDispatch, gemmData, isShallow } from './gemm.js';
import { mmaFills, mmaGemm } from './gemm-mma.js';
import { gemmPrecision, type TargetProfile } from '../profile.js';
import { HALO_SHAPES, haloConv, haloTile, quadEpilogue, type QuadEpilogue } from './conv-halo.js';
import { convMmaTile, mmaConv } from './conv-mma.js';
import { isHalo, tunedChoice } from '../tuning.js';
import { experimentEnv } from '../experiment-env.js';

const WORKGROUP = 64;
/** Taps whose in-image bits fit one u32 mask per staged row, leaving bit 31 for k past K. */
const MAX_MASKED_TAPS = 31;

/** Static geometry of a 2-d convolution over an NHWC input: everything a conv template bakes in. */
export interface ConvGeometry {
  readonly depthwise: boolean;
  readonly batch: number;
  readonly H: number;
  readonly W: number;
  readonly cin: number;
  readonly OH: number;
  readonly OW: number;
  readonly cout: number;
  readonly KH: number;
  readonly KW: number;
  readonly SH: number;
  readonly SW: number;
  readonly DH: number;
  readonly DW: number;
  /** Padding before the first row / column (TF 'same': the smaller half). */
  readonly top: number;
  readonly left: number;
  /** Depthwise channel multiplier (1 for conv2d). */
  readonly mult: number;
}

/** The geometry of a conv2d / depthwiseConv2d node given its input and kernel shapes. */
export function convGeometry(conv: Node, x: readonly number[], w: readonly number[]): ConvGeometry {
  const pair = (key: string) => ((conv.attrs[key] as number[] | undefined) ?? [1, 1]) as [number, number];
  const [strides, dilations] = [pair('strides'), pair('dilations')];
  const padding = ((conv.attrs.padding as Padding | undefined) ?? 'valid');
  const { oh, ow, top, left } = concreteWindow(x, { kernel: [w[0], w[1]], strides, dilations, padding });
  const depthwise = conv.op === 'depthwiseConv2d';
  return {
    depthwise,
    batch: x[0], H: x[1], W: x[2], cin: x[3],
    OH: oh, OW: ow, cout: depthwise ? w[2] * w[3] : w[3],
    KH: w[0], KW: w[1],
    SH: strides[0], SW: strides[1], DH: dilations[0], DW: dilations[1],
    top, left,
    mult: depthwise ? w[3] : 1,
  };
}

/** The main loop of a conv kernel: template, its data and the dispatch; the epilogue plumbing is the caller's. */
interface ConvMain {
  readonly template: string;
  readonly data: Record<string, unknown>;
  readonly workgroupSize: [number, number, number];
  readonly dispatch: [number, number, number];
  readonly features?: readonly string[];
  /** The kernel declares its buffers as vec4 arrays (HeaderOptions.quads). */
  readonly quads?: boolean;
}

/** Direct convolution: one invocation per output element, coordinates `c0..c3` = (batch, oy, ox, channel). */
function directConv(g: ConvGeometry, x: string, w: string): ConvMain {
  const count = g.batch * g.OH * g.OW * g.cout;
  const { dispatch, flatIndex } = dispatch1d(count, WORKGROUP);
  // Kernel floats per tap (ky, kx): HWIO has cin·cout, depthwise cin·mult = cout.
  const tap = g.depthwise ? g.cout : g.cin * g.cout;
  return {
    template: 'conv2d',
    data: { ...g, tap, x, w, count, wg: WORKGROUP, flatIndex, coords: unravel('i', [g.batch, g.OH, g.OW, g.cout]) },
    workgroupSize: [WORKGROUP, 1, 1],
    dispatch,
  };
}

/**
 * conv2d as an implicit GEMM: rows are output pixels (batch·OH·OW), columns output channels, K the
 * kernel taps (KH·KW·cin, HWIO order); loadA gathers the input patch element or padding's zero.
 */
function gemmConv(g: ConvGeometry, x: string, w: string, outShape: readonly number[], profile: TargetProfile): ConvMain {
  const [M, N, K] = [g.batch * g.OH * g.OW, g.cout, g.KH * g.KW * g.cin];
  // A conv whose tensor-core grid would not fill the target runs the f32 implicit GEMM, which tiles finer:
  // the ResNet's 32-channel convs at batch 1 took 15.5 µs on tensor cores against 7.6 in f32 (H100, session 8).
  // So does a shallow one: K = 9 (the bench CNN's 3×3 over one channel) fills not one 16-deep tensor-core
  // step, and took 0.029 against 0.025 ms at batch 256, 0.412 against 0.373 at 4096 (H100, session 15).
  const operands = gemmPrecision(profile);
  const f32Wins = isShallow(K, profile.minWorkgroups) || (operands === 'mma' && !mmaFills(M, N, 1, profile.minWorkgroups, profile.workgroupStorage));
  const precision = f32Wins ? 'f32' : operands;
  if (precision === 'mma') {
    const mma = mmaGemm(M, N, K, convLoaders(g, x, w), 1, profile.minWorkgroups, undefined, undefined, profile.workgroupStorage);
    // Staged like shaders/conv-gemm.wgsl.hbs (tap masks) where the taps fit a mask; loadA otherwise.
    const convRows = g.KH * g.KW <= MAX_MASKED_TAPS ? { ...g, x, taps: g.KH * g.KW, convRows: true } : {};
    return { template: 'gemm-mma', data: { ...mma.data, ...convRows, coords: unravel('i', outShape) }, workgroupSize: mma.workgroupSize, dispatch: mma.dispatch, features: mma.features };
  }
  // Row blocks fold into z, so a shallow conv keeps its 32×32 blocks past 65535 of them: the bench CNN's
  // at batch 4096 took 0.376 against 0.417 ms on 128×32 (H100, `…-session11-conv-fold.log`).
  const data = gemmData(M, N, K, [], 1, profile.minWorkgroups, undefined, undefined, false, profile.workgroupStorage, true);
  const grid = foldedGemmDispatch(M, N, K, profile.minWorkgroups, profile.workgroupStorage);
  const rowsPerPass = data.threads / data.BK;
  const f16 = precision === 'f16';
  return {
    template: 'conv-gemm',
    data: { ...g, ...data, x, w, rowsPerPass, batchOffset: '', taps: g.KH * g.KW, tapMask: g.KH * g.KW <= MAX_MASKED_TAPS, coords: unravel('i', outShape), tileType: f16 ? 'f16' : 'f32', enables: f16 ? ['f16'] : [], rowBlocks: grid.rowBlocks, maxGroups: MAX_GROUPS },
    workgroupSize: grid.workgroupSize,
    dispatch: grid.dispatch,
    ...(f16 ? { features: ['shader-f16'] } : {}),
  };
}

/** loadA gathers an input patch element (0 in the padding), loadB reads the HWIO kernel as a K×N matrix. */
function convLoaders(g: ConvGeometry, x: string, w: string): string[] {
  return [
    `fn loadA(batch: u32, m: u32, k: u32) -> f32 {
    if (m >= M || k >= K) { return 0.0; }
    let ox = m % ${g.OW}u; let q = m / ${g.OW}u; let oy = q % ${g.OH}u; let n = q / ${g.OH}u;
    let ci = k % ${g.cin}u; let tap = k / ${g.cin}u;
    let iy = i32(oy * ${g.SH}u + (tap / ${g.KW}u) * ${g.DH}u) - ${g.top}i;
    let ix = i32(ox * ${g.SW}u + (tap % ${g.KW}u) * ${g.DW}u) - ${g.left}i;
    if (iy < 0i || iy >= ${g.H}i || ix < 0i || ix >= ${g.W}i) { return 0.0; }
    return ${x}(((n * ${g.H}u + u32(iy)) * ${g.W}u + u32(ix)) * ${g.cin}u + ci);
}`,
    `fn loadB(batch: u32, k: u32, c: u32) -> f32 { if (k >= K || c >= N) { return 0.0; } return ${w}(k * N + c); }`,
  ];
}

/**
 * Which kernel a full (not depthwise) conv2d, and a stride-1 conv2dBackpropInput, runs: `KILN_CONV=gemm|halo|mma`
 * forces one (Node only, for tests and experiments; 'mma', the tensor-core halo conv, applies to mixed bundles' forward convs).
 */
export function convKernelFromEnv(): 'gemm' | 'halo' | 'mma' | undefined {
  const v = experimentEnv('KILN_CONV');
  if (v === undefined || v === '') return undefined;
  if (v !== 'gemm' && v !== 'halo' && v !== 'mma') throw new Error(`KILN_CONV must be 'gemm', 'halo' or 'mma', not '${v}'`);
  return v;
}

/**
 * A full conv2d. In a mixed bundle with tensor cores: the halo-staged tensor-core conv (./conv-mma.ts)
 * where its tile fits and fills the target; it took the ResNet's 32-channel convs at batch 256 from
 * 0.142–0.151 to 0.054–0.077 ms on an H100 (session 16). Otherwise what `kiln tune` measured fastest for
 * it on this adapter (f32 bundles), else the f32 halo-tiled direct kernel where its tile fits and the
 * grid fills the target, else the implicit GEMM (in mixed precision, its f16 form, or its tensor-core
 * form where that grid fills the target). The halo kernel stays f32 in a mixed bundle: on the H200 the
 * ResNet's mixed predict took 1.76 ms with tensor-core implicit GEMMs against 1.32 ms with f32 halo convs
 * (bench run G), since the implicit GEMM stages each input once per tap.
 */
function fullConv(g: ConvGeometry, x: string, w: string, outShape: readonly number[], profile: TargetProfile, quadOut?: QuadEpilogue, deferredOut?: QuadEpilogue): ConvMain {
  const forced = convKernelFromEnv();
  const mma = gemmPrecision(profile) === 'mma' && (!forced || forced === 'mma') ? convMmaTile(g, forced ? 1 : profile.minWorkgroups, profile.workgroupStorage, forced ? 0 : undefined) : undefined;
  if (forced === 'mma' && !mma) throw new Error(`KILN_CONV=mma, but the tensor-core conv cannot run this conv (${g.KH}×${g.KW}, ${g.cin}→${g.cout} channels, ${gemmPrecision(profile)} operands)`);
  if (mma) return mmaConv(g, mma, `${x}q`, `${w}q`, outShape, deferredOut);
  const f32 = gemmPrecision(profile) === 'f32';
  const tuned = forced || !f32 ? undefined : tunedChoice(g.batch * g.OH * g.OW, g.cout, 1, g.KH * g.KW * g.cin);
  const shape = tuned && isHalo(tuned) ? HALO_SHAPES[tuned.halo] : undefined;
  const tile = forced === 'gemm' || (tuned && !shape) ? undefined : haloTile(g, forced === 'halo' || shape ? 1 : profile.minWorkgroups, shape);
  if (forced === 'halo' && !tile) throw new Error(`KILN_CONV=halo, but the halo kernel cannot run this conv (${g.KH}×${g.KW}, ${g.cin}→${g.cout} channels, ${gemmPrecision(profile)} operands)`);
  return tile ? haloConv(g, tile, x, w, outShape, quadOut) : gemmConv(g, x, w, outShape, profile);
}

/**
 * conv2d / depthwiseConv2d, alone or as the producer of a fused epilogue (bias, activation,
 * residual): the accumulation in `acc`, then the chain at output element `i`.
 */
export function lowerConv(node: Node, ctx: LowerContext): KernelSpec[] {
  const inputTypes = node.inputs.map((r) => ctx.type(r));
  const body = bodyOf(node, inputTypes);
  const conv = producerOf(body)!;
  const [xi, wi] = [producerParam(body, 0), producerParam(body, 1)];
  const g = convGeometry(conv, inputTypes[xi].shape as number[], inputTypes[wi].shape as number[]);
  const outShape = node.outputs[0].shape as number[];
  const b = new Bindings(ctx);
  const outs = node.outputs.map((_, k) => b.output(node, k));
  const ins = node.inputs.map((_, k) => b.input(ctx, node, k));
  if (numel(outShape) !== g.batch * g.OH * g.OW * g.cout) throw new Error(`conv '${node.name}': output [${outShape}] does not match its geometry`);
  const epi = epilogueCode(body, ins, outs, inputTypes, outShape);
  const main = g.depthwise ? directConv(g, ins[xi], ins[wi]) : fullConv(g, ins[xi], ins[wi], outShape, ctx.profile, quadEpilogue(epi.lines, outs), quadEpilogue(epi.lines, outs, 'k'));
  const wgsl = render(main.template, { ...b.header(epi.helpers, { quads: main.quads }), ...main.data, epilogue: epi.lines });
  return [{ name: node.name, wgsl, entryPoint: 'main', workgroupSize: main.workgroupSize, dispatch: main.dispatch, operands: b.operands, ...(main.features ? { features: main.features } : {}), ...(main.quads ? { quads: true } : {}) }];
}
