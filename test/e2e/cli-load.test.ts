// `kiln summary` and `kiln compile` on saved model files (TF.js model.json, legacy Keras .h5, Keras 3
// .keras) work as on a .ts model file; a corrupt file is one `kiln: <file>: <what>` line and exit 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { tfjs } from '../support/tfjs.js';
import { randomizeTfjs, saveTfjsToFiles, tempDir } from '../frontend/io/helpers.js';
import { kerasArchive, kerasModelH5, kerasWeightsOf } from '../frontend/io/keras-writer.js';

async function kiln(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

async function tfCnn(): Promise<any> {
  const tf = await tfjs();
  const m = tf.sequential({ name: 'small_cnn', layers: [
    tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1], name: 'conv' }),
    tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }), tf.layers.flatten({ name: 'flat' }), tf.layers.dense({ units: 3, activation: 'softmax', name: 'head' }),
  ] });
  await randomizeTfjs(m);
  return m;
}

describe('kiln on saved model files', () => {
  it('kiln summary model.json prints the Keras table of the TF.js model', async () => {
    const path = await saveTfjsToFiles(await tfCnn(), tempDir());
    const r = await kiln('summary', path);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Model: "small_cnn"/);
    expect(r.stdout).toMatch(/conv \(Conv2D\)\s+\(None, 6, 6, 4\)\s+40/);
    expect(r.stdout).toMatch(/Total params: 151/);
  });

  it('kiln compile model.json, m.h5 and m.keras write bundles', async () => {
    const m = await tfCnn();
    const dir = tempDir();
    const json = await saveTfjsToFiles(m, dir);
    writeFileSync(join(dir, 'm.h5'), await kerasModelH5(JSON.parse(m.toJSON(null, true)), kerasWeightsOf(m)));
    const w = (i: number) => ({ shape: m.weights[i].shape, value: m.weights[i].read().dataSync() });
    writeFileSync(join(dir, 'm.keras'), await kerasArchive(JSON.parse(m.toJSON(null, true)), { 'layers/conv2d': [w(0), w(1)], 'layers/dense': [w(2), w(3)] }));
    for (const file of [json, join(dir, 'm.h5'), join(dir, 'm.keras')]) {
      const r = await kiln('compile', file, '-o', `${file}.bundle`, '--target', 'cpu');
      expect(r.stderr, file).toBe('');
      expect(r.code, file).toBe(0);
      expect(r.stdout).toMatch(/compiled model 'small_cnn'/);
    }
  });

  it('a corrupt model.json is one line naming the file, exit status 1', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'model.json'), '{ "modelTopology": ');
    const r = await kiln('summary', join(dir, 'model.json'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^kiln: .*model\.json: not valid JSON \(/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
