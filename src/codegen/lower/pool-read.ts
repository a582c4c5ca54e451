/** A matmul's A operand read through a pooling (the prologue src/passes/fuse-epilogues.ts fuses). */
import type { Node } from '../../ir/types.js';
import { concreteWindow, type Padding } from '../../ir/ops/window.js';
import type { Body } from '../chain.js';
import { literal } from '../wgsl-ops.js';

/** The pooling in front of a fused matmul: which param it pools, and the body nodes it covers. */
export interface PoolPrologue {
  readonly pool: Node;
  /** The param index of the pooling's input. */
  readonly param: number;
  /** The pooling's input shape, NHWC. */
  readonly inShape: readonly number[];
  /** Body node ids of the prologue: the param, the pooling and a reshape after it. */
  readonly nodes: ReadonlySet<number>;
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
  if (at.op !== 'maxPool2d' && at.op !== 'avgPool2d') return undefined;
  const src = byId.get(at.inputs[0].node)!;
  if (src.op !== 'param') return undefined;
  nodes.add(at.id).add(src.id);
  return { pool: at, param: src.attrs.index as number, inShape: src.outputs[0].shape as number[], nodes };
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
