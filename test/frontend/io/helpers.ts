/** Test helpers for the model-file tests: TF.js models saved to real files, and random weights. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { interpretModel, type Model } from '../../../src/index.js';
import { tfjs } from '../../support/tfjs.js';
import { randomData } from '../../support/random.js';
import { expectClose } from '../../support/close.js';

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kiln-io-'));
}

/** Gives every weight of a TF.js model seeded random values (variances positive), so nothing is a default. */
export async function randomizeTfjs(model: any, seed = 3): Promise<void> {
  const tf = await tfjs();
  const values = model.weights.map((w: any, i: number) => {
    const size = w.shape.reduce((a: number, b: number) => a * b, 1);
    const data = randomData(size, seed + i, -0.5, 0.5);
    if (/moving_variance/.test(w.originalName ?? w.name)) for (let k = 0; k < size; k++) data[k] = Math.abs(data[k]) + 0.5;
    return tf.tensor(data, w.shape);
  });
  model.setWeights(values);
}

/**
 * Saves a TF.js model with its own `model.save`, through an IOHandler that writes model.json and
 * weights.bin the way tfjs-node's file:// handler lays them out. Returns the model.json path.
 */
export async function saveTfjsToFiles(model: any, dir: string): Promise<string> {
  const tf = await tfjs();
  await model.save(
    tf.io.withSaveHandler(async (artifacts: any) => {
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData));
      const json = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(dir, 'model.json');
}

/** Loads a model.json and its shards from files with TF.js's own loader (an IOHandler reading files). */
export async function loadTfjsFromFiles(path: string): Promise<any> {
  const tf = await tfjs();
  const { readFileSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  const json = JSON.parse(readFileSync(path, 'utf8'));
  const group = json.weightsManifest[0];
  const bins = group.paths.map((p: string) => readFileSync(join(dirname(path), p)));
  const total = Buffer.concat(bins);
  const weightData = total.buffer.slice(total.byteOffset, total.byteOffset + total.byteLength);
  return tf.loadLayersModel({ load: async () => ({ modelTopology: json.modelTopology, weightSpecs: group.weights, weightData }) });
}

/** Runs a kiln model (reference interpreter) and a TF.js model on the same random inputs and compares. */
export async function expectSameOutputs(kiln: Model, tfModel: any, sampleShapes: number[][], tol = { rtol: 1e-4, atol: 1e-5 }, batch = 2): Promise<void> {
  const tf = await tfjs();
  const feeds = sampleShapes.map((s, i) => ({ shape: [batch, ...s], data: randomData(batch * s.reduce((a, b) => a * b, 1), 41 + i) }));
  const got = interpretModel(kiln, feeds.map((f) => ({ shape: f.shape, dtype: 'float32' as const, data: f.data })), { precision: 'float32' });
  let want = tfModel.predict(feeds.map((f) => tf.tensor(f.data, f.shape)));
  if (!Array.isArray(want)) want = [want];
  const outs = Object.values(got.outputs);
  expect(outs.length, 'output count').toBe(want.length);
  for (let i = 0; i < outs.length; i++) {
    expect(outs[i].shape, `output ${i} shape`).toEqual(want[i].shape);
    expectClose(outs[i].data, await want[i].data(), tol, `output ${i}`);
  }
}
