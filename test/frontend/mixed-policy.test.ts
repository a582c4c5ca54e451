/**
 * Keras's mixed dtype policies: a layer saved with `mixed_float16` (Keras 3's DTypePolicy, Keras 2's
 * Policy, or a plain string) loads with float32 variables and keeps its policy; a model with such
 * layers compiles and trains in mixed precision unless told otherwise, and writes the policy back.
 */
import { describe, expect, it } from 'vitest';
import { modelFromJSON, optimizers, Sequential, layers } from '../../src/index.js';
import { policyPrecision } from '../../src/frontend/policy.js';
import { compileBundle } from '../../src/codegen/compile.js';
import { PROFILES } from '../../src/codegen/profile.js';
import { resolveCompileArgs } from '../../src/training/config.js';
import { modelToConfig } from '../../src/frontend/io/to-config.js';
import { saveModelFile } from '../../src/frontend/io/save.js';
import { loadModelFile } from '../../src/index.js';
import { join } from 'node:path';
import { loadTfjsFromFiles, tempDir } from './io/helpers.js';
import { tfjs } from '../support/tfjs.js';

/** Keras JSON of Dense(4, relu) → Dense(2, softmax) on 3 features, the first layer's dtype as given. */
function kerasJson(dtype: unknown, headDtype: unknown = 'float32') {
  const dense = (name: string, units: number, activation: string, d: unknown, extra = {}) => ({
    class_name: 'Dense',
    config: { name, trainable: true, dtype: d, units, activation, use_bias: true, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: 1 } }, bias_initializer: { class_name: 'Zeros', config: {} }, ...extra },
  });
  return {
    class_name: 'Sequential',
    config: { name: 'policy_model', layers: [dense('hidden', 4, 'relu', dtype, { batch_input_shape: [null, 3] }), dense('head', 2, 'softmax', headDtype)] },
  };
}

const KERAS3 = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'mixed_float16' }, registered_name: null };
const KERAS3_0 = { module: 'keras.mixed_precision', class_name: 'FloatDTypePolicy', config: { name: 'mixed_float16' }, registered_name: null };
const KERAS2 = { class_name: 'Policy', config: { name: 'mixed_float16' } };

describe("Keras's mixed_float16 policy", () => {
  for (const [what, dtype] of [['Keras 3 DTypePolicy', KERAS3], ['Keras 3.0 FloatDTypePolicy', KERAS3_0], ['Keras 2 Policy', KERAS2], ['a plain string', 'mixed_float16']] as const) {
    it(`loads from ${what}: float32 variables, the policy kept, the model mixed`, () => {
      // Keras keeps a mixed model's softmax head in float32, as here.
      const model = modelFromJSON(kerasJson(dtype, 'float32'));
      const [hidden, head] = model.layers.filter((l) => l.name === 'hidden' || l.name === 'head');
      expect([hidden.dtype, hidden.dtypePolicy, head.dtypePolicy]).toEqual(['float32', 'mixed_float16', 'float32']);
      expect(hidden.weights.map((w) => w.dtype)).toEqual(['float32', 'float32']);
      expect(policyPrecision(model)).toBe('mixed');
    });
  }

  it('writes the policy back into the model config', () => {
    const model = modelFromJSON(kerasJson(KERAS3));
    const layersOut = (modelToConfig(model).config as { layers: { config: { dtype: unknown } }[] }).layers;
    expect(layersOut.map((l) => l.config.dtype)).toEqual(['mixed_float16', 'float32']);
    expect(policyPrecision(modelFromJSON(modelToConfig(model)))).toBe('mixed');
  });

  it('saves the policy in a Keras .h5, and float32 layers in a TF.js model.json (TF.js has no mixed policies), which TF.js loads', async () => {
    const model = modelFromJSON(kerasJson(KERAS3));
    const dir = tempDir();
    await saveModelFile(model, join(dir, 'm.h5'));
    expect(policyPrecision(await loadModelFile(join(dir, 'm.h5')))).toBe('mixed');
    await saveModelFile(model, join(dir, 'model.json'));
    const tfModel = await loadTfjsFromFiles(join(dir, 'model.json'));
    expect(tfModel.layers[0].dtype).toBe('float32');
    expect(tfModel.predict((await tfjs()).ones([2, 3])).shape).toEqual([2, 2]);
    expect(policyPrecision(await loadModelFile(join(dir, 'model.json')))).toBe('float32');
  });

  it('makes mixed precision the default of compile (inference and training), which an explicit precision overrides', () => {
    const model = modelFromJSON(kerasJson(KERAS3));
    const profile = { ...PROFILES.gpu, features: ['shader-f16'] };
    expect(compileBundle(model, { batch: 2, profile }).bundle.manifest.precision).toBe('mixed');
    expect(compileBundle(model, { batch: 2, profile, precision: 'float32' }).bundle.manifest.precision ?? 'float32').toBe('float32');
    const train = (precision?: 'float32' | 'mixed') => resolveCompileArgs(model, { optimizer: optimizers.SGD(), loss: 'categoricalCrossentropy', ...(precision ? { precision } : {}) }).precision;
    expect([train(), train('float32')]).toEqual(['mixed', 'float32']);
  });

  it('leaves a float32 model and a model built in code float32', () => {
    expect(policyPrecision(modelFromJSON(kerasJson('float32')))).toBe('float32');
    const coded = new Sequential([layers.Dense(2, { inputShape: [3] })]);
    expect(policyPrecision(coded)).toBe('float32');
    expect(compileBundle(coded, { batch: 1 }).bundle.manifest.precision ?? 'float32').toBe('float32');
  });

  it('is a layer option in code too, as Keras\'s dtype="mixed_float16"', () => {
    const model = new Sequential([layers.Dense(2, { inputShape: [3], dtype: 'mixed_float16' }), layers.Dense(1)]);
    expect(model.layers[0].dtypePolicy).toBe('mixed_float16');
    expect(policyPrecision(model)).toBe('mixed');
  });
});
