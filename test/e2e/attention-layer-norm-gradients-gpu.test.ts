/**
 * Gradients through layerNorm, the fused attention op, MultiHeadAttention's primitive path and the
 * seed's attention layer, computed on the GPU, against finite differences of the float64 interpreter
 * (the harness of gradients-gpu.test.ts: autodiff, fusion, compile; the gradients are the outputs).
 */
import { describe, it } from 'vitest';
import { expectGpuGradientsMatchFiniteDifferences } from '../support/gpu-gradients.js';
import { Input, Model, Sequential, layers, clearSession, type SymbolicTensor } from '../../src/index.js';
import { Attention } from '../../samples/attention.js';

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

describe('GPU gradients through layer norm and attention match finite differences of the interpreter', () => {
  for (const [what, make] of Object.entries(MODELS)) {
    it(what, async () => {
      clearSession();
      await expectGpuGradientsMatchFiniteDifferences(make(), { batch: BATCH, range: [-2, 2] });
    });
  }
});
