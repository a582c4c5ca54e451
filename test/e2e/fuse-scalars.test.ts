/**
 * fuseScalars: a training step's scalar bookkeeping (loss sums, gradient seeds, the step count, and in
 * mixed precision the loss scale's reciprocal, finite test, counter and new scale) runs in as few
 * kernels as the step's order allows, computes what the unfused ops computed, and on the GPU gives the
 * float64 interpreter's values.
 */
import { describe, expect, it } from 'vitest';
import { Sequential, layers, optimizers, clearSession } from '../../src/index.js';
import { interpret, validate, type Graph, type NDArray } from '../../src/ir/index.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { fuseScalars, fuseScalarsBy, isScalarWork, planScalarClusters } from '../../src/passes/fuse-scalars.js';
import type { Program } from '../../src/passes/program.js';
import { trainingProgram } from '../../src/training/session.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { profileForAdapter } from '../../src/codegen/profile.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

const nd = (shape: number[], data: ArrayLike<number>): NDArray => ({ shape, dtype: 'float32', data: Float32Array.from(data) });

/**
 * w (a scalar weight) and x [4]:  a = w·2;  y = x·a;  s = Σy;  b = s + 1;  c = w·3;  d = b·c.
 * `a` is read by y, which comes before s: a cannot share a kernel with b. c reads only a weight, so it
 * moves to b's kernel, and d follows.
 */
function chain(): { program: Program; ids: Record<string, number> } {
  const g = new GraphBuilder();
  const x = g.add('input', [], { name: 'x', shape: [4], dtype: 'float32' }, 'x')[0];
  const w = g.add('weight', [], { name: 'w', shape: [], dtype: 'float32', trainable: true }, 'w')[0];
  const k = (v: number) => g.add('constant', [], { shape: [], dtype: 'float32', value: [v] }, `const_${v}`)[0];
  const a = g.add('mul', [w, k(2)], {}, 'a')[0];
  const y = g.add('mul', [x, a], {}, 'y')[0];
  const s = g.add('reduceSum', [y], { axes: [], keepDims: false }, 's')[0];
  const b = g.add('add', [s, k(1)], {}, 'b')[0];
  const c = g.add('mul', [w, k(3)], {}, 'c')[0];
  const d = g.add('mul', [b, c], {}, 'd')[0];
  const graph = g.build([{ name: 'y', value: y }, { name: 'd', value: d }, { name: 'a', value: a }], [{ weight: 'w', value: c }]);
  return { program: { graph, weights: new Map([['w', nd([], [0.75])]]) }, ids: { a: a.node, s: s.node, b: b.node, c: c.node, d: d.node } };
}

const FEEDS = { x: nd([4], [1, -2, 3, 0.5]) };
const run = (graph: Graph, weights: Program['weights']) => interpret(graph, FEEDS, { weights, training: true, precision: 'float64' });

describe('fuseScalars', () => {
  it('joins scalar work that has one place between what it reads and what reads it', () => {
    const { program, ids } = chain();
    expect(planScalarClusters(program.graph)).toEqual([{ members: [ids.b, ids.c, ids.d], after: ids.s }]);
  });

  it('keeps the values the ops computed, as outputs and updates', () => {
    const { program } = chain();
    const fused = fuseScalars.run(program, { phase: 'training', batch: 1 });
    validate(fused.graph);
    expect(fused.graph.nodes.filter(isScalarWork)).toHaveLength(2);
    const [want, got] = [run(program.graph, program.weights), run(fused.graph, fused.weights)];
    for (const name of ['y', 'd', 'a']) expectClose(got.outputs[name].data, want.outputs[name].data, { rtol: 0, atol: 0 }, name);
    expectClose(got.updates.w.data, want.updates.w.data, { rtol: 0, atol: 0 }, 'update w');
  });

  it('never joins work of different phases (a data-parallel step reads the first phase between the two)', () => {
    const { program, ids } = chain();
    const phases = () => (n: { id: number }) => (n.id === ids.c ? 'update' : 'gradients');
    expect(planScalarClusters(program.graph, phases)).toEqual([{ members: [ids.b, ids.d], after: ids.c }]);
    const fused = fuseScalarsBy(phases).run(program, { phase: 'training', batch: 1 });
    validate(fused.graph);
    expect(fused.graph.nodes.filter(isScalarWork).map((n) => n.name)).toEqual(['a', 'c', 'b']);
  });
});

const model = () =>
  new Sequential([layers.Conv2D(4, 3, { inputShape: [6, 6, 1], activation: 'relu' }), layers.Flatten(), layers.Dense(5, { activation: 'softmax' })]);

describe('a training step with fused scalar kernels', () => {
  for (const precision of ['float32', 'mixed'] as const) {
    it(`${precision}: its scalar work is ${precision === 'mixed' ? 'two kernels' : 'one kernel'}, and the GPU step gives the interpreter's new weights`, async () => {
      clearSession();
      const m = model();
      const config = resolveCompileArgs(m, { optimizer: optimizers.SGD({ learningRate: 0.1 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'], precision });
      const batch = 6;
      const { program } = trainingProgram(m, config, batch, true);
      // In mixed precision the finite test needs every gradient: the scale's bookkeeping runs after it, the rest before.
      expect(program.graph.nodes.filter(isScalarWork).map((n) => n.name)).toHaveLength(precision === 'mixed' ? 2 : 1);
      const gpu = await testGpu();
      const { bundle } = buildBundle(program.graph, program.weights, 'fuse-scalars', batch, { mode: 'training', profile: profileForAdapter(gpu.adapter, precision) });
      const net = await Net.create(bundle, gpu);
      const feeds = Object.fromEntries(net.inputs.map((s, k) => [s.name, randomData(s.shape.reduce((a, b) => a * b, 1), 5 + k, 0, 1)]));
      await net.predict(feeds);
      const state = program.graph.updates.map((u) => u.weight);
      const got = await net.readState(state);
      const want = interpret(program.graph, feeds, { weights: program.weights, training: true, precision: 'float64' }).updates;
      const tol = precision === 'mixed' ? { rtol: 1e-2, atol: 1e-3 } : { rtol: 1e-4, atol: 1e-5 };
      for (const w of state) expectClose(got[w], want[w].data, tol, `new '${w}'`);
      net.destroy();
    });
  }
});
