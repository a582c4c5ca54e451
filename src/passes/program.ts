import type { Graph } from '../ir/types.js';
import type { NDArray } from '../ir/ndarray.js';

/**
 * What passes transform: a graph and the values of its weights. Inference passes may fold weights
 * (batch norm into a conv kernel), so the two travel together.
 */
export interface Program {
  readonly graph: Graph;
  readonly weights: ReadonlyMap<string, NDArray>;
}

/** What a pipeline is compiled for. */
export interface PassContext {
  readonly phase: 'inference' | 'training';
  /** The batch size baked into the compiled shapes. */
  readonly batch: number;
}

/** One pass: a pure function of a program; it never mutates its input. */
export interface Pass {
  readonly name: string;
  run(program: Program, ctx: PassContext): Program;
}
