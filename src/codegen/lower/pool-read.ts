/** A matmul's A operand read through a pooling (the prologue src/passes/fuse-epilogues.ts fuses). */
import type { Node } from '../../ir/types.js';
import { concreteWindow, type Padding } from '../../ir/ops/window.js';
import type { Body } from '../chain.js';
import { literal } from '../wgsl-ops.js';
import { isGlobalMean } from '../../passes/util.js';

/** The pooling in front of a fused matmul: which param it pools, and the body nodes it covers. */
export interface PoolPrologue {
  readonly pool: Node;
  /** The param index of the pooling's input. */
  readonly param: number;
  /** The pooling's input shape, NHWC. */
  readonly inShape: readonly number[];
  /** Body node ids of the prologue: the param, the pooling and a reshape after it. */
  readonly nodes: ReadonlySet<number>;
  /** A mean over the whole height and width (GlobalAveragePooling2D): staged per row (globalMeanStage), never read element by element. */
  readonly global: boolean;
}

/** The pooling that the body's matmul `mm` reads as A (through at most one reshape), or undefined. */
export function poolPrologueOf(body: Body, mm: Node): PoolPrologue | undefined {
  const byId = new Map(body.nodes.map((n) => [n.id, n]));
  let at = byId.get(mm.inputs[0].node)!;
  const nodes = new Set<number>();
  if (at.op === 'reshape') {
    nodes.add(at.id);
    at = byId.get(at.inputs[0].node)!;
  }
  if (at.op !== 'maxPool2d' && at.op !== 'avgPool2d' && at.op !== 'reduceMean') return undefined;
  const src = byId.get(at.inputs[0].node)!;
  const global = isGlobalMean(at, src.outputs[0].shape);
  if ((at.op === 'reduceMean' && !global) || src.op !== 'param') return undefined;
  nodes.add(at.id).add(src.id);
  return { pool: at, param: src.attrs.index as number, inShape: src.outputs[0].shape as number[], nodes, global };
}

/** The body without its prologue: what the epilogue chain evaluates per output element. */
export function withoutPrologue(body: Body, prologue: PoolPrologue | undefined): Body {
  return prologue ? { nodes: body.nodes.filter((n) => !prologue.nodes.has(n.id)), outputs: body.outputs } : body;
}

/**
 * WGSL of `fn {name}(i: u32) -> f32`: element i (flat, row-major) of the pooled tensor, computed from
 * the pooling's input through `read` (an input accessor). Windows that always lie inside the input
 * ('valid' padding) are unrolled; others are clipped to it, so padding never counts (as TF pools).
 */
export function poolReadWgsl(name: string, prologue: PoolPrologue, read: string): string {
  const { pool, inShape } = prologue;
  if (prologue.global) throw new Error(`pooling '${pool.name}': a global mean is staged per row (globalMeanStage), not read element by element`);
  const [, H, W, C] = inShape;
  const outShape = pool.outputs[0].shape as number[];
  const [HO, WO] = [outShape[1], outShape[2]];
  const [KH, KW] = pool.attrs.poolSize as [number, number];
  const [SH, SW] = pool.attrs.strides as [number, number];
  const padding = (pool.attrs.padding as Padding | undefined) ?? 'valid';
  const { top, left } = concreteWindow(inShape as number[], { kernel: [KH, KW], strides: [SH, SW], dilations: [1, 1], padding });
  const average = pool.op === 'avgPool2d';
  const fold = (a: string, v: string) => (average ? `${a} + ${v}` : `max(${a}, ${v})`);
  const head = [
    `fn ${name}(i: u32) -> f32 {`,
    `    let c = i % ${C}u; let px = i / ${C}u; let ox = px % ${WO}u; let oy = (px / ${WO}u) % ${HO}u; let n = px / ${WO * HO}u;`,
  ];
  const inside = top === 0 && left === 0 && (HO - 1) * SH + KH <= H && (WO - 1) * SW + KW <= W;
  if (inside) {
    const taps = Array.from({ length: KH * KW }, (_, t) => `${read}(((n * ${H}u + oy * ${SH}u + ${Math.floor(t / KW)}u) * ${W}u + ox * ${SW}u + ${t % KW}u) * ${C}u + c)`);
    const folded = taps.slice(1).reduce((acc, v) => fold(acc, v), taps[0]);
    return [...head, `    return ${average ? `(${folded}) * ${literal(1 / (KH * KW), 'float32')}` : folded};`, '}'].join('\n');
  }
  return [
    ...head,
    `    let y0 = i32(oy * ${SH}u) - ${top}i; let x0 = i32(ox * ${SW}u) - ${left}i;`,
    `    let ys = u32(max(y0, 0i)); let ye = u32(min(y0 + ${KH}i, ${H}i)); let xs = u32(max(x0, 0i)); let xe = u32(min(x0 + ${KW}i, ${W}i));`,
    // TF windows always hold a real element; WGSL has no -inf constant to start from.
    `    var acc = ${average ? '0.0' : `${read}(((n * ${H}u + ys) * ${W}u + xs) * ${C}u + c)`};`,
    `    for (var iy = ys; iy < ye; iy = iy + 1u) { for (var ix = xs; ix < xe; ix = ix + 1u) { acc = ${fold('acc', `${read}(((n * ${H}u + iy) * ${W}u + ix) * ${C}u + c)`)}; } }`,
    `    return ${average ? 'acc / f32((ye - ys) * (xe - xs))' : 'acc'};`,
    '}',
  ].join('\n');
}

/** Lanes' partial sums of one row's global mean, and its means, in workgroup memory. */
export interface GlobalMeanStage {
  /** Module-scope WGSL: the workgroup arrays and `fn {name}(i)`, the mean of channel i % C of the staged row. */
  readonly decls: string[];
  /** Statements at the top of a kernel whose workgroup owns image `image`: every lane must reach them. */
  readonly stage: string[];
  /** Whether reads are vec4s (`{read}q`): the header must declare quads. */
  readonly quads: boolean;
}

/**
 * Loads per unguarded pass of a global mean's pixel loop. On an H100 (the ResNet head, 32×32×32 at
 * batch 1) the fused head took 6.8–8.1 µs with 8 or 16, 11–13 µs with every load guarded, against
 * 15.7–16.4 µs for the reduction's two kernels and the head's (`…-session7-global-pool-*.log`).
 */
const MEAN_UNROLL = 8;

/**
 * WGSL that stages the channel means of one image of the NHWC tensor read by `read` in workgroup
 * memory, for a kernel of `wg` lanes: lanes take channel runs (vec4s where C allows) and stride over
 * pixels, so a warp's loads are contiguous; the pixel slices are then summed per channel. UNROLL
 * loads per pass keep that many in flight: at batch 1 one workgroup reads the whole image.
 */
export function globalMeanStage(name: string, prologue: PoolPrologue, read: string, image: string, wg: number): GlobalMeanStage {
  const [, H, W, C] = prologue.inShape;
  const P = H * W;
  const quads = C % 4 === 0;
  const V = quads ? 4 : 1;
  const T = quads ? 'vec4<f32>' : 'f32';
  const runs = C / V;
  const lanes = Math.min(runs, wg);
  const slices = Math.max(1, Math.floor(wg / runs));
  const unroll = MEAN_UNROLL;
  const load = (p: string) => `${quads ? `${read}q` : read}(base + (${p}) * ${C}u + v * ${V}u)`;
  return {
    quads,
    decls: [
      `var<workgroup> ${name}Parts: array<${T}, ${slices === 1 ? 1 : slices * runs}>;`,
      `var<workgroup> ${name}Row: array<f32, ${C}>;`,
      `fn ${name}(i: u32) -> f32 { return ${name}Row[i % ${C}u]; }`,
    ],
    stage: [
      `{`,
      `    let base = (${image}) * ${P * C}u;`,
      `    let slice = lid / ${lanes}u;`,
      `    if (slice < ${slices}u) {`,
      `        for (var v = lid % ${lanes}u; v < ${runs}u; v = v + ${lanes}u) {`,
      `            var sum = ${T}(0.0);`,
      // Unguarded passes of UNROLL loads, then the pixels left one at a time.
      `            var p = slice;`,
      `            for (; p + ${(unroll - 1) * slices}u < ${P}u; p = p + ${unroll * slices}u) {`,
      ...Array.from({ length: unroll }, (_, u) => `                sum = sum + ${load(`p + ${u * slices}u`)};`),
      `            }`,
      `            for (; p < ${P}u; p = p + ${slices}u) { sum = sum + ${load('p')}; }`,
      slices === 1 ? `            ${meanStore(name, 'v', 'sum', V, P)}` : `            ${name}Parts[slice * ${runs}u + v] = sum;`,
      `        }`,
      `    }`,
      ...(slices === 1
        ? []
        : [
            `    workgroupBarrier();`,
            `    if (lid < ${runs}u) {`,
            `        var sum = ${T}(0.0);`,
            `        for (var s = 0u; s < ${slices}u; s = s + 1u) { sum = sum + ${name}Parts[s * ${runs}u + lid]; }`,
            `        ${meanStore(name, 'lid', 'sum', V, P)}`,
            `    }`,
          ]),
      `    workgroupBarrier();`,
      `}`,
    ],
  };
}

/** Stores run `v`'s means (sum / P) into the staged row. */
function meanStore(name: string, v: string, sum: string, V: number, P: number): string {
  const scale = literal(1 / P, 'float32');
  return V === 1 ? `${name}Row[${v}] = ${sum} * ${scale};` : Array.from({ length: V }, (_, j) => `${name}Row[${v} * 4u + ${j}u] = ${sum}[${j}] * ${scale};`).join(' ');
}
