/** Test support for passes: programs from frontend models, random feeds, semantics and purity checks. */
import { expect } from 'vitest';
import type { Model } from '../../src/index.js';
import { interpret, LEARNING_PHASE, type Graph, type Node, type NDArray } from '../../src/ir/index.js';
import type { Pass, PassContext, Program } from '../../src/passes/program.js';
import { runPipeline } from '../../src/passes/pipelines.js';
import { fusedBody } from '../../src/ir/ops/fused.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

/** Float64 interpretation vs. float32-rounded folded weights: relative error stays near 1e-7. */
export const TOL = { rtol: 1e-5, atol: 1e-6 };
export const INFER: PassContext = { phase: 'inference', batch: 2 };

/** A model's traced graph and current weight values. */
export function programOf(model: Model): Program {
  return { graph: model.toTraced().graph, weights: model.weightValues() };
}

/** Random feeds for every graph input but the learning phase: uniform in [-1, 1), never zero. */
export function randomFeeds(graph: Graph, batch: number, seed = 7): Record<string, NDArray> {
  const feeds: Record<string, NDArray> = {};
  graph.nodes.filter((n) => n.op === 'input' && n.attrs.name !== LEARNING_PHASE).forEach((n, i) => {
    const shape = n.outputs[0].shape.map((d) => d ?? batch);
    const data = randomData(shape.reduce((a, b) => a * b, 1), seed + i).map((v) => (v === 0 ? 0.5 : v));
    feeds[n.attrs.name as string] = { shape, dtype: 'float32', data };
  });
  return feeds;
}

/** Outputs of a program on feeds, in float64. */
export function run(p: Program, feeds: Record<string, NDArray>, training = false) {
  return interpret(p.graph, feeds, { weights: p.weights, precision: 'float64', training });
}

/** Asserts two programs give the same outputs (and updates) on the same feeds. */
export function expectSameResults(before: Program, after: Program, feeds: Record<string, NDArray>, what: string, training = false): void {
  const want = run(before, feeds, training);
  const got = run(after, feeds, training);
  expect(Object.keys(got.outputs), `${what}: output names`).toEqual(Object.keys(want.outputs));
  for (const [name, w] of Object.entries(want.outputs)) {
    expect(got.outputs[name].shape, `${what}: ${name} shape`).toEqual(w.shape);
    expectClose(got.outputs[name].data, w.data, TOL, `${what}: ${name}`);
  }
  for (const [name, w] of Object.entries(got.updates)) expectClose(w.data, want.updates[name].data, TOL, `${what}: update ${name}`);
}

/** The graph as JSON plus each weight's shape and a position-weighted checksum (full weight JSON is slow for the MLP). */
function snapshot(p: Program): string {
  const sum = (d: ArrayLike<number>) => {
    let acc = 0;
    for (let i = 0; i < d.length; i++) acc += d[i] * ((i % 7) + 1);
    return acc;
  };
  return JSON.stringify({ g: p.graph, w: [...p.weights].map(([k, v]) => [k, v.shape, sum(v.data)]) });
}

/**
 * Runs passes with validation after each, checking after every pass that the program still computes
 * what the original did and that no pass touched its input. Returns the final program.
 */
export function compileChecked(program: Program, passes: readonly Pass[], ctx: PassContext = INFER, seed = 7): Program {
  const feeds = randomFeeds(program.graph, ctx.batch, seed);
  const training = ctx.phase === 'training';
  let previous = program;
  let before = snapshot(program);
  return runPipeline(program, passes, ctx, {
    check: true,
    onPass: (name, p) => {
      expect(snapshot(previous), `${name} must not mutate its input`).toBe(before);
      expectSameResults(program, p, feeds, `after ${name}`, training);
      previous = p;
      before = snapshot(p);
    },
  });
}

/** Nodes of an op. */
export const nodesOf = (p: Program, op: string): Node[] => p.graph.nodes.filter((n) => n.op === op);

/** Fused nodes of a kind whose body's first non-param op is `root` (any when omitted). */
export function fusedOf(p: Program, kind: string, root?: string): Node[] {
  return nodesOf(p, 'fused').filter((n) => n.attrs.kind === kind && (!root || bodyOps(n)[0] === root));
}

/** The ops of a fused body, params and constants left out. */
export function bodyOps(n: Node): string[] {
  return fusedBody(n.attrs).nodes.filter((b) => b.op !== 'param' && b.op !== 'constant').map((b) => b.op);
}
