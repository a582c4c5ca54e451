/**
 * A model saved by TF.js, loaded by kiln, compiled and run on the GPU (lavapipe here; outputs poisoned
 * with NaN first): the GPU matches the reference interpreter, which matches TF.js.
 */
import { expect, it } from 'vitest';
import { loadModelFile } from '../../../src/index.js';
import { PROFILES } from '../../../src/codegen/profile.js';
import { expectGpuMatchesInterpreter } from '../../support/gpu.js';
import { expectClose } from '../../support/close.js';
import { tfjs } from '../../support/tfjs.js';
import { randomizeTfjs, saveTfjsToFiles, tempDir } from './helpers.js';

it('a TF.js-saved CNN with batch norm runs on the GPU and matches the interpreter and TF.js', async () => {
  const tf = await tfjs();
  const m = tf.sequential({ layers: [
    tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', inputShape: [6, 6, 2] }),
    tf.layers.batchNormalization(), tf.layers.activation({ activation: 'relu' }),
    tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  await randomizeTfjs(m, 77);
  const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
  const run = await expectGpuMatchesInterpreter(model, { batch: 2, profile: PROFILES.cpu, rtol: 1e-4, atol: 1e-5 });
  const input = run.compiled.bundle.manifest.model.inputs[0];
  const want = await (m.predict(tf.tensor(run.feeds[input.name] as Float32Array, [...input.shape])) as any).data();
  const got = Object.values(run.got)[0];
  expect(got.length).toBe(6);
  expectClose(got, want, { rtol: 1e-4, atol: 1e-5 }, 'GPU vs TF.js');
});
