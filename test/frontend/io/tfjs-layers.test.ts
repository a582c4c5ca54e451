/**
 * Every layer family kiln has loads from a TF.js-saved model.json and computes what TF.js computes:
 * embedding, recurrent layers and their wrappers, normalization, padding, pooling, shape and merge layers.
 */
import { describe, expect, it } from 'vitest';
import { loadModelFile, interpretModel } from '../../../src/index.js';
import { tfjs } from '../../support/tfjs.js';
import { randomInts } from '../../support/random.js';
import { expectClose } from '../../support/close.js';
import { expectSameOutputs, randomizeTfjs, saveTfjsToFiles, tempDir } from './helpers.js';

describe('TF.js models with every kiln layer family', () => {
  it('embedding, LSTM, bidirectional GRU, time-distributed dense, SimpleRNN, layer norm', async () => {
    const tf = await tfjs();
    const m = tf.sequential({ layers: [
      tf.layers.embedding({ inputDim: 7, outputDim: 4, inputLength: 5 }),
      tf.layers.lstm({ units: 3, returnSequences: true }),
      tf.layers.bidirectional({ layer: tf.layers.gru({ units: 2, returnSequences: true }) as any, mergeMode: 'concat' }),
      tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 3, activation: 'tanh' }) }),
      tf.layers.layerNormalization(),
      tf.layers.simpleRNN({ units: 2 }),
    ] });
    await randomizeTfjs(m, 61);
    const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
    expect(model.countParams()).toBe(m.countParams());
    const ids = randomInts(10, 7, 4);
    const want = await (m.predict(tf.tensor(ids, [2, 5], 'int32')) as any).data();
    const got = Object.values(interpretModel(model, { shape: [2, 5], dtype: 'int32', data: ids }, { precision: 'float32' }).outputs)[0];
    expectClose(got.data, want, { rtol: 1e-4, atol: 1e-5 }, 'output');
  });

  it('padding, depthwise conv, average and global pooling, reshape, permute, concatenate, maximum, minimum, average', async () => {
    const tf = await tfjs();
    const inp = tf.input({ shape: [6, 6, 2] });
    const p = tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }).apply(inp) as any;
    const d = tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, activation: 'relu' }).apply(p) as any;
    const a = tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }).apply(d) as any;
    const g1 = tf.layers.globalAveragePooling2d({}).apply(a) as any;
    const g2 = tf.layers.globalMaxPooling2d({}).apply(a) as any;
    const r = tf.layers.reshape({ targetShape: [2, 2] }).apply(g1) as any;
    const q = tf.layers.flatten().apply(tf.layers.permute({ dims: [2, 1] }).apply(r) as any) as any;
    const merged = [tf.layers.maximum().apply([q, g2]), tf.layers.minimum().apply([q, g2]), tf.layers.average().apply([q, g2])] as any[];
    const out = tf.layers.dense({ units: 2 }).apply(tf.layers.concatenate().apply(merged) as any) as any;
    const m = tf.model({ inputs: inp, outputs: out });
    await randomizeTfjs(m, 67);
    const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
    await expectSameOutputs(model, m, [[6, 6, 2]]);
  });

  it('a model kiln saves with those layers loads in TF.js and computes the same', async () => {
    const tf = await tfjs();
    const m = tf.sequential({ layers: [tf.layers.embedding({ inputDim: 5, outputDim: 3, inputLength: 4 }), tf.layers.lstm({ units: 2 })] });
    await randomizeTfjs(m, 5);
    const model = await loadModelFile(await saveTfjsToFiles(m, tempDir()));
    const dir = tempDir();
    await model.save(`${dir}/model.json`);
    const { loadTfjsFromFiles } = await import('./helpers.js');
    const back = await loadTfjsFromFiles(`${dir}/model.json`);
    const ids = randomInts(8, 5, 9);
    const want = await (m.predict(tf.tensor(ids, [2, 4], 'int32')) as any).data();
    expectClose(await (back.predict(tf.tensor(ids, [2, 4], 'int32')) as any).data(), want, { rtol: 0, atol: 0 }, 'TF.js on kiln-saved');
  });
});
