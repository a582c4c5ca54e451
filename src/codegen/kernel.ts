import type { Graph, Node, TensorType, ValueRef } from '../ir/types.js';
import type { NDArray } from '../ir/ndarray.js';
import type { TargetProfile } from './profile.js';
import type { ArenaLayout } from './arena-slots.js';

/**
 * What a kernel binding reads or writes: a graph value (arena), a weight (weights buffer), or a
 * range of the scratch region (arena, bytes from its start) that one node's kernels share for
 * temporaries: its steps run in order, so a later kernel sees what an earlier one wrote.
 */
export type Operand =
  | { readonly kind: 'value'; readonly ref: ValueRef }
  | { readonly kind: 'weight'; readonly name: string }
  | { readonly kind: 'scratch'; readonly offset: number; readonly size: number };

/** One operand of a kernel, in order: outputs first, then inputs; its offset goes in the step's params. */
export interface KernelOperand {
  readonly operand: Operand;
  readonly role: 'in' | 'out';
}

/** A compute kernel ready for the bundle: WGSL with shapes baked in, its dispatch and operands. */
export interface KernelSpec {
  /** The graph node(s) it runs, for inspection. */
  readonly name: string;
  readonly wgsl: string;
  readonly entryPoint: string;
  readonly workgroupSize: readonly [number, number, number];
  readonly dispatch: readonly [number, number, number];
  readonly operands: readonly KernelOperand[];
  /** WebGPU features the kernel needs beyond the core (f16, subgroup matrices); none when absent. */
  readonly features?: readonly string[];
  /** The kernel reads operands as vec4s (HeaderOptions.quads): every operand offset must be a multiple of 4 elements. */
  readonly quads?: boolean;
}

/** What a lowering sees besides its node. */
export interface LowerContext {
  readonly graph: Graph;
  /** Type of any value of the graph. */
  type(ref: ValueRef): TensorType;
  /** The operand a node input binds to (a weight for weight nodes, a constant's stand-in weight, else the value). */
  operand(ref: ValueRef): Operand;
  /** What the kernels are tuned for (a GPU, or a CPU adapter). */
  readonly profile: TargetProfile;
  /** Values of weights and constants, for lowerings that specialize on them. */
  readonly weights: ReadonlyMap<string, NDArray>;
  /** A fresh 256-byte-aligned scratch range of `bytes` for this node's kernels only (reused by the next node). */
  scratch(bytes: number): Operand;
  /** Where operands lie when the arena is paged or wider than one binding (see ./arena-slots.ts); absent: one buffer, bound whole. */
  readonly arena?: ArenaLayout;
}

/** Turns one node into the kernels that run it (none for nodes that only rename memory). */
export type Lowering = (node: Node, ctx: LowerContext) => KernelSpec[];

/** An operand for a node's input. */
export function inputOperand(ctx: LowerContext, node: Node, i: number): Operand {
  return ctx.operand(node.inputs[i]);
}

/** The operand for a node's own output. */
export function outputOperand(node: Node, output = 0): Operand {
  return { kind: 'value', ref: { node: node.id, output } };
}
