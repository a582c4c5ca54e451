/**
 * Bad files and configs fail with a typed error whose message names the file (and the layer, its class
 * and what kiln supports), never with a crash deep inside a parser.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LayerConfigError, Layer, loadModelFile, ModelFileError, modelFromJSON, registerLayer, Model, layers, ops, type SymbolicTensor } from '../../../src/index.js';
import { tfjs } from '../../support/tfjs.js';
import { kerasArchive, kerasModelH5, kerasWeightsOf } from './keras-writer.js';
import { randomizeTfjs, saveTfjsToFiles, tempDir } from './helpers.js';

async function savedMlp(): Promise<string> {
  const tf = await tfjs();
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [4], name: 'd' }), tf.layers.dense({ units: 2, name: 'e' })] });
  await randomizeTfjs(m);
  return saveTfjsToFiles(m, tempDir());
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => null, (err: Error) => err);
  if (!e) throw new Error('expected a failure');
  return e;
}

describe('corrupt or truncated files', () => {
  it('model.json that is not JSON', async () => {
    const path = await savedMlp();
    writeFileSync(path, '{"modelTopology": {"class_name": "Sequential", ');
    const e = await failure(loadModelFile(path));
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.message).toMatch(/model\.json: not valid JSON/);
  });

  it('a truncated .bin shard: the shard size does not match the manifest', async () => {
    const path = await savedMlp();
    const bin = join(path, '..', 'weights.bin');
    writeFileSync(bin, readFileSync(bin).subarray(0, 50));
    const e = await failure(loadModelFile(path));
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.message).toMatch(/model\.json: weight shards weights\.bin hold 50 bytes, but the manifest lists weights of 232 bytes \(truncated shard\?\)/);
  });

  it('a missing shard names the shard and the model.json listing it', async () => {
    const path = await savedMlp();
    unlinkSync(join(path, '..', 'weights.bin'));
    expect((await failure(loadModelFile(path))).message).toMatch(/weights\.bin: cannot read weight shard 'weights\.bin' listed in .*model\.json: no such file/);
  });

  it('a manifest whose weights do not fit the topology lists every problem', async () => {
    const path = await savedMlp();
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.modelTopology.config.layers[1].config.units = 3;
    writeFileSync(path, JSON.stringify(json));
    expect((await failure(loadModelFile(path))).message).toMatch(/the weights do not fit model .*\n\s+- weight 'e\/kernel' has shape \(8, 2\) in the file, but layer 'e' \(Dense\) expects kernel of shape \(8, 3\)/);
  });

  it('an HDF5 file that is truncated, and one that is not HDF5 at all', async () => {
    const tf = await tfjs();
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] })] });
    const good = await kerasModelH5(JSON.parse(m.toJSON(null, true) as string), kerasWeightsOf(m));
    const dir = tempDir();
    writeFileSync(join(dir, 'cut.h5'), good.subarray(0, 1000));
    const e = await failure(loadModelFile(join(dir, 'cut.h5')));
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.message).toMatch(/cut\.h5: .*(truncated or corrupt)/);
    writeFileSync(join(dir, 'junk.h5'), new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]));
    expect((await failure(loadModelFile(join(dir, 'junk.h5')))).message).toMatch(/junk\.h5: not a readable HDF5 file, truncated or corrupt/);
    writeFileSync(join(dir, 'text.h5'), 'hello');
    expect((await failure(loadModelFile(join(dir, 'text.h5')))).message).toMatch(/text\.h5: is not a model file kiln reads/);
  });

  it('a .keras archive that is truncated or misses its config', async () => {
    const dir = tempDir();
    const good = await kerasArchive({ class_name: 'Sequential', config: { layers: [] } }, {});
    writeFileSync(join(dir, 'cut.keras'), good.subarray(0, good.length - 30));
    expect((await failure(loadModelFile(join(dir, 'cut.keras')))).message).toMatch(/cut\.keras: not a readable zip archive, truncated or corrupt/);
    const { zipSync } = await import('fflate');
    writeFileSync(join(dir, 'empty.keras'), zipSync({ 'metadata.json': new TextEncoder().encode('{}') }));
    expect((await failure(loadModelFile(join(dir, 'empty.keras')))).message).toMatch(/empty\.keras: the archive has no config\.json \(it holds metadata\.json\)/);
  });

  it('a TF.js graph model is named as such', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    expect((await failure(loadModelFile(join(dir, 'model.json')))).message).toMatch(/model\.json: is a TF\.js graph model .*kiln reads layers models/);
  });

  it('a missing file names the file', async () => {
    expect((await failure(loadModelFile('/nonexistent/model.json'))).message).toBe('/nonexistent/model.json: cannot read model file: no such file');
  });
});

describe('configs kiln cannot build', () => {
  const topology = (entry: object) => ({ class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd0', units: 2, batch_input_shape: [null, 3] } }, entry] } });

  it('an unknown layer class names the layer, its class, and the classes kiln supports', () => {
    const e = (() => { try { modelFromJSON(topology({ class_name: 'Warp', config: { name: 'w1' } })); } catch (err) { return err as Error; } })()!;
    expect(e).toBeInstanceOf(LayerConfigError);
    expect(e.message).toMatch(/layer 'w1' has class 'Warp', which kiln does not know; supported classes: .*BatchNormalization.*Conv2D.*Dense.*\. A custom layer loads once registered: registerLayer\('Warp', Warp\)/);
  });

  it('an option kiln would ignore names the layer, the option and what the class supports', () => {
    expect(() => modelFromJSON(topology({ class_name: 'Dense', config: { name: 'd1', units: 2, kernel_constraint: { class_name: 'MaxNorm', config: { max_value: 2 } } } }))).toThrow(
      /layer 'd1' \(Dense\) sets option kiln does not support: kernelConstraint = \{"className":"MaxNorm","config":\{"maxValue":2\}\}; kiln's Dense supports: units, activation, useBias/,
    );
  });

  it("MultiHeadAttention's recorded build shapes (query_shape, …) are not options", () => {
    const json = { class_name: 'Functional', config: { name: 'f', layers: [
      { class_name: 'InputLayer', name: 'x', config: { name: 'x', batch_input_shape: [null, 3, 4] }, inbound_nodes: [] },
      { class_name: 'MultiHeadAttention', name: 'mha', config: { name: 'mha', num_heads: 2, key_dim: 2, query_shape: [null, 3, 4], key_shape: [null, 3, 4], value_shape: [null, 3, 4] }, inbound_nodes: [[['x', 0, 0, { value: ['x', 0, 0] }]]] },
    ], input_layers: [['x', 0, 0]], output_layers: [['mha', 0, 0]] } };
    expect(modelFromJSON(json).outputs[0].shape).toEqual([null, 3, 4]);
  });

  it('options at their Keras default are accepted (groups: 1, renorm: false, null constraints)', () => {
    const model = modelFromJSON(topology({ class_name: 'BatchNormalization', config: { name: 'bn', axis: [1], renorm: false, renorm_momentum: 0.99, beta_constraint: null } }));
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Dense', 'BatchNormalization']);
  });

  it('a custom layer loads once registered by class name, or through customObjects', () => {
    class Scale extends Layer {
      static override className = 'Scale';
      factor: number;
      constructor(args: { factor?: number; name?: string } = {}) {
        super(args);
        this.factor = args.factor ?? 1;
      }
      override call(x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
        return ops.mul(x as SymbolicTensor, this.factor);
      }
      override getConfig() {
        return { ...super.getConfig(), factor: this.factor };
      }
    }
    const json = topology({ class_name: 'Scale', config: { name: 'sc', factor: 3 } });
    expect((modelFromJSON(json, { customObjects: { Scale } }).getLayer('sc') as Scale).factor).toBe(3);
    expect(() => modelFromJSON(json)).toThrow(/class 'Scale', which kiln does not know/);
    registerLayer('Scale', Scale);
    const model = modelFromJSON(json);
    expect((model.getLayer('sc') as Scale).factor).toBe(3);
    // Its config survives kiln's own JSON.
    expect((modelFromJSON(model.toJSON()).getLayer('sc') as Scale).factor).toBe(3);
  });

  it('a subclassed model has no JSON topology: toJSON says so', () => {
    class Net extends Model {
      dense = layers.Dense(2);
      override call(x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
        return this.dense(x as SymbolicTensor);
      }
    }
    const net = new Net();
    net.build([null, 3]);
    expect(() => net.toJSON()).toThrow(/is a subclassed model: its topology is code, not a config/);
    expect(JSON.stringify({ net })).toMatch(/Model\(/);
  });
});
