/**
 * saveWeights / loadWeights pick the format: `.h5` Keras 2 HDF5, `.json` TF.js manifest + shard, other
 * extensions kiln's own; loading reads the format from the content, Keras 3 `.weights.h5` included.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layers, loadModelFile, loadModelFrom, Model, Sequential, weightsFormatOf, type SymbolicTensor } from '../../../src/index.js';
import { randomData } from '../../support/random.js';
import { kerasArchive } from './keras-writer.js';
import { tempDir } from './helpers.js';
import { unzipSync } from 'fflate';

function mlp(): Sequential {
  return new Sequential({ layers: [layers.Dense(4, { inputShape: [3], name: 'a' }), layers.BatchNormalization({ name: 'bn' }), layers.Dense(2, { name: 'b' })] });
}

function bits(model: Sequential): number[][] {
  return model.getWeights().map((w) => [...new Uint32Array(w.buffer)]);
}

describe('weights formats', () => {
  it('choose the format by extension', () => {
    expect(['w.h5', 'w.hdf5', 'w.json', 'w.kw', 'w.bin'].map(weightsFormatOf)).toEqual(['keras-h5', 'keras-h5', 'tfjs', 'kiln', 'kiln']);
  });

  for (const file of ['w.h5', 'w.json', 'w.kw']) {
    it(`${file}: saveWeights then loadWeights is bit-exact`, async () => {
      const model = mlp();
      model.weights.forEach((w, i) => w.write(randomData(w.size, 40 + i, 0.1, 1)));
      const dir = tempDir();
      await model.saveWeights(join(dir, file));
      const fresh = mlp();
      await fresh.loadWeights(join(dir, file));
      expect(bits(fresh)).toEqual(bits(model));
    });
  }

  it('w.json is a TF.js weights manifest with a w.weights.bin shard', async () => {
    const model = mlp();
    const dir = tempDir();
    await model.saveWeights(join(dir, 'w.json'));
    const json = JSON.parse(readFileSync(join(dir, 'w.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['w.weights.bin']);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(['a/kernel', 'a/bias', 'bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance', 'b/kernel', 'b/bias']);
    expect(readFileSync(join(dir, 'w.weights.bin')).length).toBe(4 * model.countParams());
  });

  it('Keras 3 .weights.h5 (layers/<class path>/vars/<i>) loads into the model it belongs to', async () => {
    const model = mlp();
    const vals = model.layers.map((l) => l.weights.map((w, i) => ({ shape: [...w.shape], value: randomData(w.size, 60 + i, 0.5, 1.5) })));
    const archive = await kerasArchive({}, { 'layers/dense': vals[0], 'layers/batch_normalization': vals[1], 'layers/dense_1': vals[2] });
    const dir = tempDir();
    writeFileSync(join(dir, 'model.weights.h5'), unzipSync(archive)['model.weights.h5']);
    await model.loadWeights(join(dir, 'model.weights.h5'));
    expect(model.layers.flatMap((l) => l.getWeights())).toEqual(vals.flat().map((v) => v.value));
  });
});

describe('saving where it cannot', () => {
  it('a missing folder is an error naming the path', async () => {
    const model = mlp();
    await expect(model.save('/nonexistent-dir/model.json')).rejects.toThrow(/\/nonexistent-dir\/(model\.json|weights\.bin): cannot write: /);
  });
});

describe('TF.js shards', () => {
  it('weights split over several shards (a weight crossing a shard boundary) and several groups load', async () => {
    const model = mlp();
    model.weights.forEach((w, i) => w.write(randomData(w.size, 20 + i)));
    const dir = tempDir();
    await model.save(join(dir, 'model.json'));
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const bin = readFileSync(join(dir, 'weights.bin'));
    const [first, ...rest] = json.weightsManifest[0].weights;
    const firstBytes = 4 * first.shape.reduce((a: number, b: number) => a * b, 1);
    writeFileSync(join(dir, 'group1-shard1of2.bin'), bin.subarray(0, firstBytes));
    writeFileSync(join(dir, 'group2-shard1of2.bin'), bin.subarray(firstBytes, firstBytes + 10));
    writeFileSync(join(dir, 'group2-shard2of2.bin'), bin.subarray(firstBytes + 10));
    json.weightsManifest = [{ paths: ['group1-shard1of2.bin'], weights: [first] }, { paths: ['group2-shard1of2.bin', 'group2-shard2of2.bin'], weights: rest }];
    writeFileSync(join(dir, 'split.json'), JSON.stringify(json));
    const loaded = await loadModelFile(join(dir, 'split.json'));
    expect(bits(loaded as Sequential)).toEqual(bits(model));
  });
});

describe('loadModelFrom: any reader, as fetch in a browser', () => {
  it('reads model.json and its shard through the reader, resolving the shard beside the JSON', async () => {
    const model = mlp();
    const dir = tempDir();
    await model.save(join(dir, 'model.json'));
    const served: Record<string, Uint8Array> = {
      'https://example.test/m/model.json': readFileSync(join(dir, 'model.json')),
      'https://example.test/m/weights.bin': readFileSync(join(dir, 'weights.bin')),
    };
    const asked: string[] = [];
    const read = async (url: string) => {
      asked.push(url);
      return served[url] ?? Promise.reject(new Error(`404 ${url}`));
    };
    const loaded = await loadModelFrom('https://example.test/m/model.json', read);
    expect(asked).toEqual(['https://example.test/m/model.json', 'https://example.test/m/weights.bin']);
    expect(bits(loaded as Sequential)).toEqual(bits(model));
  });
});

describe('subclassed models', () => {
  it('save and load their weights in Keras and TF.js formats (they have no config, but their layers have names)', async () => {
    class Net extends Model {
      hidden = layers.Dense(4, { activation: 'relu', name: 'hidden' });
      head = layers.Dense(2, { name: 'head' });
      override call(x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
        return this.head(this.hidden(x as SymbolicTensor));
      }
    }
    for (const file of ['w.h5', 'w.json']) {
      const net = new Net();
      net.build([null, 3]);
      net.weights.forEach((w, i) => w.write(randomData(w.size, 80 + i)));
      const dir = tempDir();
      await net.saveWeights(join(dir, file));
      const fresh = new Net();
      fresh.build([null, 3]);
      await fresh.loadWeights(join(dir, file));
      expect(fresh.getWeights(), file).toEqual(net.getWeights());
    }
  });
});
