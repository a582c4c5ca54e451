import type { DType, Node } from '../../ir/types.js';
import { arenaBinding } from '../../runtime/format.js';
import { arenaSlots } from '../arena-slots.js';
import type { KernelOperand, LowerContext, Operand } from '../kernel.js';
import { wgslType } from '../wgsl-ops.js';

/** How a kernel declares the arena and the weights: arrays of f32, or of vec4<f32> (`quads`) so it can also read four at once. */
export interface HeaderOptions {
  /** Declares both buffers as `array<vec4<f32>>` and adds `in0q(i)`, the vec4 at element i (a multiple of 4), to every input, and `out0q(i, v)` to every output. */
  readonly quads?: boolean;
}

/** An accessor's parts, rendered in either buffer declaration. */
interface Accessor {
  readonly name: string;
  readonly role: 'in' | 'out';
  readonly T: string;
  /** Whether it reads the weights; else its arena slot's variable is named when the header is rendered. */
  readonly weights: boolean;
  readonly field: string;
}

const arenaVariable = (slot: number) => (slot === 0 ? 'arena' : `arena${slot}`);

/**
 * A kernel's operands, in order (outputs first, then each distinct input once), and the WGSL
 * accessors for them: `in0(i)` reads, `out0(i, v)` writes, at the offset the step passes in `p`.
 */
export class Bindings {
  readonly operands: KernelOperand[] = [];
  readonly params: string[] = [];
  private readonly parts: Accessor[] = [];
  private readonly names = new Map<string, string>();

  /** `ctx.arena` says where each operand lies when the arena is paged (one buffer when it has none). */
  constructor(private readonly ctx: Pick<LowerContext, 'arena'>) {}

  /** The accessors' WGSL for arrays of f32 (the default) or of vec4<f32>, each on its operand's arena slot (see arenaSlots). */
  accessors(options: HeaderOptions = {}): string[] {
    const { slotOf } = arenaSlots(this.operands, this.ctx.arena);
    return this.parts.flatMap((a, i) => {
      const named = { ...a, buffer: a.weights ? 'weights' : arenaVariable(slotOf[i]) };
      return options.quads ? quadAccessor(named) : [scalarAccessor(named)];
    });
  }

  /** Binds a node output for writing; returns the accessor name (call as `out0(i, v)`). */
  output(node: Node, output = 0): string {
    return this.bind({ kind: 'value', ref: { node: node.id, output } }, 'out', node.outputs[output].dtype, `out${output}`);
  }

  /** Binds a node input for reading, once per distinct operand; returns the accessor name (call as `in0(i)`). */
  input(ctx: LowerContext, node: Node, i: number): string {
    const count = this.operands.filter((o) => o.role === 'in').length;
    return this.bind(ctx.operand(node.inputs[i]), 'in', ctx.type(node.inputs[i]).dtype, `in${count}`);
  }

  /** Binds a float32 scratch range for reading or writing; returns the accessor name (`sr0(i)` / `sw0(i, v)`). */
  scratch(operand: Operand, role: 'in' | 'out'): string {
    if (operand.kind !== 'scratch') throw new Error(`Bindings.scratch takes a scratch operand, not a ${operand.kind}`);
    return this.bind(operand, role, 'float32', `s${role === 'in' ? 'r' : 'w'}${this.operands.length}`);
  }

  /** Template data for the header partial. */
  header(helpers: readonly string[] = [], options: HeaderOptions = {}): { params: string[]; accessors: string[]; helpers: readonly string[]; element: string; pages: { name: string; binding: number }[] } {
    const pages = arenaSlots(this.operands, this.ctx.arena).slots.slice(1).map((_, k) => ({ name: arenaVariable(k + 1), binding: arenaBinding(k + 1) }));
    return { params: this.params.length ? this.params : ['unused'], accessors: this.accessors(options), helpers, element: options.quads ? 'vec4<f32>' : 'f32', pages };
  }

  private bind(operand: Operand, role: 'in' | 'out', dtype: DType, name: string): string {
    const key = JSON.stringify(operand);
    const known = this.names.get(`${role}:${key}`);
    if (known && role === 'in') return known;
    const field = `o${this.operands.length}`;
    this.operands.push({ operand, role });
    this.params.push(field);
    this.parts.push({ name, role, T: wgslType(dtype), weights: operand.kind === 'weight', field });
    this.names.set(`${role}:${key}`, name);
    return name;
  }
}

const fromF32 = (T: string, v: string) => (T === 'f32' ? v : `bitcast<${T}>(${v})`);
const toF32 = (T: string, v: string) => (T === 'f32' ? v : `bitcast<f32>(${v})`);

type Named = Accessor & { readonly buffer: string };

function scalarAccessor(a: Named): string {
  return a.role === 'in'
    ? `fn ${a.name}(i: u32) -> ${a.T} { return ${fromF32(a.T, `${a.buffer}[p.${a.field} + i]`)}; }`
    : `fn ${a.name}(i: u32, v: ${a.T}) { ${a.buffer}[p.${a.field} + i] = ${toF32(a.T, 'v')}; }`;
}

/** Accessors over vec4 arrays: element j is component j % 4 of vec4 j / 4 (operand offsets are multiples of 4). */
function quadAccessor(a: Named): string[] {
  if (a.role === 'out') {
    return [
      `fn ${a.name}(i: u32, v: ${a.T}) { let j = p.${a.field} + i; ${a.buffer}[j >> 2u][j & 3u] = ${toF32(a.T, 'v')}; }`,
      `fn ${a.name}q(i: u32, v: vec4<${a.T}>) { ${a.buffer}[(p.${a.field} + i) >> 2u] = ${a.T === 'f32' ? 'v' : 'bitcast<vec4<f32>>(v)'}; }`,
    ];
  }
  return [
    `fn ${a.name}(i: u32) -> ${a.T} { let j = p.${a.field} + i; return ${fromF32(a.T, `${a.buffer}[j >> 2u][j & 3u]`)}; }`,
    `fn ${a.name}q(i: u32) -> vec4<${a.T}> { let q = ${a.buffer}[(p.${a.field} + i) >> 2u]; return ${a.T === 'f32' ? 'q' : `bitcast<vec4<${a.T}>>(q)`}; }`,
  ];
}
