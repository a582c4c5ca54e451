/**
 * The gradient as the GPU computes it, checked against finite differences of the float64 interpreter:
 * the model's loss is differentiated (autodiff), fused and compiled like a training step, but its
 * gradients are outputs; each compared element (first, middle, last of every weight) is
 * (L(w+h) − L(w−h)) / 2h on the interpreter.
 */
import type { Model } from '../../src/index.js';
import { optimizers } from '../../src/index.js';
import { trainingObjective } from '../../src/training/program.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { FORWARD_PASSES, FUSION_PASSES } from '../../src/training/session.js';
import { autodiff, runPipeline, type PassContext, type Program } from '../../src/passes/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { interpret, type NDArray } from '../../src/ir/index.js';
import { Net } from '../../src/runtime/index.js';
import { testGpu } from './gpu.js';
import { randomData } from './random.js';

/** Random feeds for a training program: one-hot targets, int ids in [0, 7), floats in `range` (default [−1, 1)). */
function feedsFor(program: Program, range: readonly [number, number]): Record<string, NDArray> {
  const feeds: Record<string, NDArray> = {};
  program.graph.nodes.filter((n) => n.op === 'input').forEach((n, k) => {
    const shape = n.outputs[0].shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (n.outputs[0].dtype === 'int32') feeds[n.attrs.name as string] = { shape, dtype: 'int32', data: Int32Array.from(randomData(size, 5 + k, 0, 7), Math.floor) };
    else if ((n.attrs.name as string).endsWith('_target')) {
      const data = new Float32Array(size);
      for (let r = 0; r < shape[0]; r++) data[r * shape[1] + (r % shape[1])] = 1;
      feeds[n.attrs.name as string] = { shape, dtype: 'float32', data };
    } else feeds[n.attrs.name as string] = { shape, dtype: 'float32', data: randomData(size, 5 + k, range[0], range[1]) };
  });
  return feeds;
}

/** Throws, naming the weight and element, where a GPU gradient is off by more than 1e-4 + 1e-3·|finite difference|. */
export async function expectGpuGradientsMatchFiniteDifferences(model: Model, options: { batch: number; range?: readonly [number, number] }): Promise<void> {
  const config = resolveCompileArgs(model, { optimizer: optimizers.SGD(), loss: 'categoricalCrossentropy' });
  const objective = trainingObjective(model, config);
  const ctx: PassContext = { phase: 'training', batch: options.batch };
  const forward = runPipeline(objective.program, FORWARD_PASSES, ctx, { check: true });
  const withGrads = autodiff(forward, { loss: 'loss', wrt: objective.trainable });
  // Only the gradients are outputs: this is a step without its optimizer.
  const grads = { ...withGrads, graph: { ...withGrads.graph, outputs: withGrads.graph.outputs.filter((o) => o.name.startsWith('grad/')), updates: [] } };
  const fused = runPipeline(grads, FUSION_PASSES, ctx, { check: true });
  const { bundle } = buildBundle(fused.graph, fused.weights, 'grads', options.batch);
  const net = await Net.create(bundle, await testGpu());
  const feeds = feedsFor(forward, options.range ?? [-1, 1]);
  await net.fill(NaN);
  const got = await net.predict(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data as Float32Array | Int32Array])));
  net.destroy();
  const loss = (weights: Map<string, NDArray>) => interpret(forward.graph, feeds, { weights, training: true }).outputs.loss.data[0];
  for (const name of objective.trainable) {
    const w = forward.weights.get(name)!;
    const g = got[`grad/${name}`];
    for (const i of [...new Set([0, w.data.length >> 1, w.data.length - 1])]) {
      const h = 1e-3;
      const at = (delta: number) => {
        const data = Float64Array.from(w.data);
        data[i] += delta;
        return loss(new Map(forward.weights).set(name, { ...w, data }));
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      // float32 kernels against an O(h²) central difference in float64.
      const tol = 1e-4 + 1e-3 * Math.abs(fd);
      if (!(Math.abs(g[i] - fd) <= tol)) throw new Error(`${name}[${i}]: GPU gradient ${g[i]}, finite difference ${fd} (tolerance ${tol.toExponential(2)})`);
    }
  }
}
