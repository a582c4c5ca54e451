/**
 * Gradients through layerNorm, the fused attention op, MultiHeadAttention's primitive path and the
 * seed's attention layer, computed on the GPU, against finite differences of the float64 interpreter
 * (the harness of gradients-gpu.test.ts: autodiff, fusion, compile; the gradients are the outputs).
 */
import { describe, it } from 'vitest';
import { Input, Model, Sequential, layers, optimizers, clearSession, type SymbolicTensor } from '../../src/index.js';
import { trainingObjective } from '../../src/training/program.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { FORWARD_PASSES, FUSION_PASSES } from '../../src/training/session.js';
import { autodiff, runPipeline, type PassContext, type Program } from '../../src/passes/index.js';
import { buildBundle } from '../../src/codegen/bundle.js';
import { interpret, type NDArray } from '../../src/ir/index.js';
import { Net } from '../../src/runtime/index.js';
import { Attention } from '../../samples/attention.js';
import { testGpu } from '../support/gpu.js';
import { randomData } from '../support/random.js';

const BATCH = 3;
const uniform = (minval: number, maxval: number, seed: number) => ({ className: 'RandomUniform', config: { minval, maxval, seed } });

/** Sequence → MultiHeadAttention (self) → Flatten → Dense softmax. */
function mhaModel(call: { useCausalMask?: boolean; returnAttentionScores?: boolean }): Model {
  const x = Input({ shape: [4, 3] });
  const out = layers.MultiHeadAttention({ numHeads: 2, keyDim: 2, biasInitializer: uniform(-0.3, 0.3, 4) }).apply([x, x], call);
  const attended = Array.isArray(out) ? out[0] : out;
  return new Model({ inputs: x, outputs: layers.Dense(4, { activation: 'softmax' })(layers.Flatten()(attended) as SymbolicTensor) as SymbolicTensor });
}

const MODELS: Record<string, () => Model> = {
  'dense → layer norm → dense': () => new Sequential([layers.Dense(6, { inputShape: [5] }), layers.LayerNormalization({ gammaInitializer: uniform(0.5, 1.5, 1), betaInitializer: uniform(-0.5, 0.5, 2) }), layers.Dense(4, { activation: 'softmax' })]),
  'layer norm over axes [1, 2]': () => new Sequential([layers.LayerNormalization({ axis: [1, 2], inputShape: [3, 4] }), layers.Flatten(), layers.Dense(4, { activation: 'softmax' })]),
  'multi-head attention, causal (fused attention op)': () => mhaModel({ useCausalMask: true }),
  'multi-head attention returning scores (matmul, softmax)': () => mhaModel({ returnAttentionScores: true }),
  "the seed's attention layer": () => {
    const x = Input({ shape: [6, 5] });
    return new Model({ inputs: x, outputs: layers.Dense(4, { activation: 'softmax' })(new Attention()(x)) as SymbolicTensor });
  },
};

function feedsFor(program: Program): Record<string, NDArray> {
  const feeds: Record<string, NDArray> = {};
  program.graph.nodes.filter((n) => n.op === 'input').forEach((n, k) => {
    const shape = n.outputs[0].shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if ((n.attrs.name as string).endsWith('_target')) {
      const data = new Float32Array(size);
      for (let r = 0; r < shape[0]; r++) data[r * shape[1] + (r % shape[1])] = 1;
      feeds[n.attrs.name as string] = { shape, dtype: 'float32', data };
    } else feeds[n.attrs.name as string] = { shape, dtype: 'float32', data: randomData(size, 5 + k, -2, 2) };
  });
  return feeds;
}

describe('GPU gradients through layer norm and attention match finite differences of the interpreter', () => {
  for (const [what, make] of Object.entries(MODELS)) {
    it(what, async () => {
      clearSession();
      const model = make();
      const config = resolveCompileArgs(model, { optimizer: optimizers.SGD(), loss: 'categoricalCrossentropy' });
      const objective = trainingObjective(model, config);
      const ctx: PassContext = { phase: 'training', batch: BATCH };
      const forward = runPipeline(objective.program, FORWARD_PASSES, ctx, { check: true });
      const withGrads = autodiff(forward, { loss: 'loss', wrt: objective.trainable });
      const grads = { ...withGrads, graph: { ...withGrads.graph, outputs: withGrads.graph.outputs.filter((o) => o.name.startsWith('grad/')), updates: [] } };
      const fused = runPipeline(grads, FUSION_PASSES, ctx, { check: true });
      const { bundle } = buildBundle(fused.graph, fused.weights, 'grads', BATCH);
      const net = await Net.create(bundle, await testGpu());
      const feeds = feedsFor(forward);
      await net.fill(NaN);
      const got = await net.predict(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.data as Float32Array])));
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
    });
  }
});
