import type { DType, Node } from '../../ir/types.js';
import type { KernelBinding, LowerContext, Operand } from '../kernel.js';
import { wgslType } from '../wgsl-ops.js';

/** A kernel's binding table: outputs first, then each distinct input operand once. */
export class Bindings {
  readonly list: KernelBinding[] = [];
  readonly decls: { name: string; access: string; type: string }[] = [];
  private readonly names = new Map<string, string>();

  /** Binds a node output for writing; returns its WGSL name. */
  output(node: Node, output = 0): string {
    return this.bind({ kind: 'value', ref: { node: node.id, output } }, 'read_write', node.outputs[output].dtype, `out${output}`);
  }

  /** Binds a node input for reading (once per distinct operand); returns its WGSL name. */
  input(ctx: LowerContext, node: Node, i: number): string {
    return this.bind(ctx.operand(node.inputs[i]), 'read', ctx.type(node.inputs[i]).dtype, `in${this.list.filter((b) => b.access === 'read').length}`);
  }

  private bind(operand: Operand, access: 'read' | 'read_write', dtype: DType, name: string): string {
    const key = JSON.stringify(operand);
    const known = this.names.get(key);
    if (known && access === 'read') return known;
    this.list.push({ operand, access });
    this.decls.push({ name, access, type: wgslType(dtype) });
    this.names.set(key, name);
    return name;
  }
}
