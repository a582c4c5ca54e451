import type { Node, TensorType } from '../../ir/types.js';
import { broadcastRead, chainLines, producerOf, type Body } from '../chain.js';
import { sameShape } from '../indexing.js';
import { helpersUsed, WGSL_HELPERS } from '../wgsl-ops.js';

/** The WGSL after a producer's accumulation (`acc`): chain lines, stores, and the module-level helpers they need. */
export interface EpilogueCode {
  /** Lines for the `epilogue` partial: one `let` per op, then the stores at flat output index `i`. */
  readonly lines: string[];
  /** Module-level constants and helper functions, for the header partial. */
  readonly helpers: string[];
  /** Whether the lines read output coordinates `c0..` (an operand broadcast to the output). */
  readonly needsCoords: boolean;
}

/** Index of the fused node's input that the producer's input `k` reads (its param's index). */
export function producerParam(body: Body, k: number): number {
  const producer = producerOf(body)!;
  return body.nodes.find((n) => n.id === producer.inputs[k].node)!.attrs.index as number;
}

/**
 * The epilogue of a producer body (or the producer alone): every param other than the producer's own
 * inputs is read broadcast to the output at flat index `i` / coordinates `c0..`.
 */
export function epilogueCode(body: Body, ins: readonly string[], outs: readonly string[], inputTypes: readonly TensorType[], outShape: readonly number[]): EpilogueCode {
  const consts: string[] = [];
  const { lines, results } = chainLines(body, (k) => broadcastRead(ins[k], inputTypes[k].shape as number[], outShape), consts);
  const stores = results.map((r, k) => `${outs[k]}(i, ${r});`);
  const code = [...lines, ...stores];
  // Only params read by the chain matter: the producer's own inputs never have the output's shape.
  // By id: a body without its prologue (withoutPrologue) no longer has a node at every index.
  const params = new Map(body.nodes.filter((n) => n.op === 'param').map((n) => [n.id, n.attrs.index as number]));
  const chainParams = new Set<number>();
  for (const n of body.nodes as readonly Node[]) {
    if (n.op === 'param' || n === producerOf(body)) continue;
    for (const r of n.inputs) if (params.has(r.node)) chainParams.add(params.get(r.node)!);
  }
  const needsCoords = [...chainParams].some((k) => !sameShape(inputTypes[k].shape as number[], outShape));
  return { lines: code, helpers: [...consts, ...helpersUsed(code.join('\n')).map((h) => WGSL_HELPERS[h])], needsCoords };
}
