import type { Node, ValueRef } from '../ir/types.js';
import type { NDArray } from '../ir/ndarray.js';
import { refKey } from '../ir/graph.js';
import { GraphBuilder } from './builder.js';
import type { Pass, PassContext, Program } from './program.js';

/** What a rule sees: the builder of the new graph, the (remapped) inputs, weights, and the pass context. */
export interface RuleContext extends PassContext {
  readonly builder: GraphBuilder;
  /** The node's inputs, as values of the new graph. */
  readonly inputs: readonly ValueRef[];
  /** Weight values; rules that fold weights add new ones through `setWeight`. */
  readonly weights: ReadonlyMap<string, NDArray>;
  setWeight(name: string, value: NDArray): void;
  /** How many nodes of the old graph read each output of this node. */
  readonly uses: (ref: ValueRef) => number;
  /** The old-graph node behind one of this node's inputs. */
  readonly producer: (index: number) => Node;
  /** Any old-graph value as the new graph has it so far (undefined when not emitted yet, or dropped). */
  readonly value: (ref: ValueRef) => ValueRef | undefined;
}

/** A rewrite: for nodes matching `match`, return replacement values for the node's outputs, or null to keep it. */
export interface Rule {
  readonly match: { readonly op?: string | readonly string[]; readonly when?: (node: Node) => boolean };
  readonly rewrite: (node: Node, ctx: RuleContext) => readonly ValueRef[] | null;
}

/** A rule from a pattern and a rewrite. */
export function rule(match: Rule['match'], rewrite: Rule['rewrite']): Rule {
  return { match, rewrite };
}

function matches(r: Rule, node: Node): boolean {
  const ops = r.match.op === undefined ? null : typeof r.match.op === 'string' ? [r.match.op] : r.match.op;
  return (!ops || ops.includes(node.op)) && (!r.match.when || r.match.when(node));
}

/**
 * A pass made of rules, run by one driver: nodes are visited in order and copied into a new graph;
 * the first rule that returns replacements wins. Weights no longer read are dropped.
 */
export function rewrite(name: string, rules: readonly Rule[]): Pass {
  return {
    name,
    run(program: Program, pctx: PassContext): Program {
      const { graph } = program;
      const builder = new GraphBuilder();
      const map = new Map<string, ValueRef>();
      const weights = new Map(program.weights);
      const useCount = new Map<string, number>();
      for (const n of graph.nodes) for (const r of n.inputs) useCount.set(refKey(r), (useCount.get(refKey(r)) ?? 0) + 1);
      for (const o of [...graph.outputs.map((x) => x.value), ...graph.updates.map((u) => u.value)]) useCount.set(refKey(o), (useCount.get(refKey(o)) ?? 0) + 1);
      const byId = new Map(graph.nodes.map((n) => [n.id, n]));

      for (const node of graph.nodes) {
        const inputs = node.inputs.map((r) => map.get(refKey(r))!);
        let outs: readonly ValueRef[] | null = null;
        const ctx: RuleContext = {
          ...pctx,
          builder,
          inputs,
          weights,
          setWeight: (n, v) => weights.set(n, v),
          uses: (ref) => useCount.get(refKey(ref)) ?? 0,
          producer: (i) => byId.get(node.inputs[i].node)!,
          value: (ref) => map.get(refKey(ref)),
        };
        for (const r of rules) {
          if (!matches(r, node)) continue;
          outs = r.rewrite(node, ctx);
          if (outs) break;
        }
        outs ??= builder.copy(node, inputs);
        outs.forEach((ref, i) => map.set(`${node.id}:${i}`, ref));
      }
      const out = builder.build(
        graph.outputs.map((o) => ({ name: o.name, value: map.get(refKey(o.value))! })),
        graph.updates.map((u) => ({ ...u, value: map.get(refKey(u.value))! })),
      );
      return { graph: out, weights };
    },
  };
}
