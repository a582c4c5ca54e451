import type { DType, Node } from '../../ir/types.js';
import type { KernelOperand, LowerContext, Operand } from '../kernel.js';
import { wgslType } from '../wgsl-ops.js';

/**
 * A kernel's operands, in order (outputs first, then each distinct input once), and the WGSL
 * accessors for them: `in0(i)` reads, `out0(i, v)` writes, at the offset the step passes in `p`.
 */
export class Bindings {
  readonly operands: KernelOperand[] = [];
  readonly params: string[] = [];
  readonly accessors: string[] = [];
  private readonly names = new Map<string, string>();

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
  header(helpers: readonly string[] = []): { params: string[]; accessors: string[]; helpers: readonly string[] } {
    return { params: this.params.length ? this.params : ['unused'], accessors: this.accessors, helpers };
  }

  private bind(operand: Operand, role: 'in' | 'out', dtype: DType, name: string): string {
    const key = JSON.stringify(operand);
    const known = this.names.get(`${role}:${key}`);
    if (known && role === 'in') return known;
    const field = `o${this.operands.length}`;
    this.operands.push({ operand, role });
    this.params.push(field);
    const T = wgslType(dtype);
    const buffer = operand.kind === 'weight' ? 'weights' : 'arena';
    const load = T === 'f32' ? `${buffer}[p.${field} + i]` : `bitcast<i32>(${buffer}[p.${field} + i])`;
    this.accessors.push(
      role === 'in'
        ? `fn ${name}(i: u32) -> ${T} { return ${load}; }`
        : `fn ${name}(i: u32, v: ${T}) { arena[p.${field} + i] = ${T === 'f32' ? 'v' : 'bitcast<f32>(v)'}; }`,
    );
    this.names.set(`${role}:${key}`, name);
    return name;
  }
}
