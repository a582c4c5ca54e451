/**
 * Keras parity: a kiln layer and the same TF.js layer, given the same weights and the same random
 * input, must give the same output shape, parameter count, weight names and values.
 */
import { expect } from 'vitest';
import { Input, Model, interpretModel, type Layer } from '../../src/index.js';
import type { Dim } from '../../src/ir/types.js';
import { tfjs } from './tfjs.js';
import { randomData } from './random.js';
import { expectClose } from './close.js';

/** One parity case: kiln's layer, TF.js's layer built from the same options, the sample input shape(s). */
export interface ParityCase {
  kiln: () => Layer;
  tfjs: (tfl: Awaited<ReturnType<typeof tfjs>>['layers']) => unknown;
  /** Sample shapes without the batch; several for multi-input layers. */
  inputShapes: Dim[][];
  batch?: number;
  /** Input dtype (int32 for Embedding). */
  dtype?: 'float32' | 'int32';
  /** Generates input data; defaults to uniform [-1, 1). */
  data?: (size: number, seed: number) => Float32Array | Int32Array;
  rtol?: number;
  atol?: number;
  training?: boolean;
}

/** Builds both layers, copies kiln's weights into TF.js, runs both on the same inputs and compares. */
export async function expectParity(c: ParityCase): Promise<void> {
  const tf = await tfjs();
  const batch = c.batch ?? 3;
  const inputs = c.inputShapes.map((s) => Input({ shape: s, dtype: c.dtype ?? 'float32' }));
  const layer = c.kiln();
  const out = layer(inputs.length === 1 ? inputs[0] : inputs);
  const model = new Model({ inputs, outputs: out });

  const tfLayer = c.tfjs(tf.layers) as any;
  const tfInputs = c.inputShapes.map((s) => tf.input({ shape: s as number[], dtype: c.dtype ?? 'float32' }));
  const tfOut = tfLayer.apply(tfInputs.length === 1 ? tfInputs[0] : tfInputs);
  expect(out.shape, 'output shape').toEqual(tfOut.shape);
  expect(layer.countParams(), 'parameter count').toBe(tfLayer.countParams());
  const tfWeightNames = tfLayer.weights.map((w: any) => w.originalName.replace(/^.*?\//, ''));
  expect(layer.weights.map((w) => w.name.replace(/^.*?\//, '')), 'weight names').toEqual(tfWeightNames);
  tfLayer.setWeights(layer.getWeights().map((v, i) => tf.tensor(v, layer.weights[i].shape as number[])));

  const feeds = c.inputShapes.map((s, i) => {
    const size = batch * s.reduce<number>((a, b) => a * (b as number), 1);
    const data = c.data ? c.data(size, 11 + i) : randomData(size, 11 + i);
    return { shape: [batch, ...(s as number[])], data };
  });
  const got = interpretModel(model, feeds.map((f) => ({ shape: f.shape, dtype: c.dtype ?? 'float32', data: f.data })), { precision: 'float32', training: c.training });
  const tfModel = tf.model({ inputs: tfInputs, outputs: tfOut });
  const want = tfModel.predict(feeds.map((f) => tf.tensor(f.data as Float32Array, f.shape, c.dtype ?? 'float32'))) as any;
  const gotValues = Object.values(got.outputs)[0];
  expect(gotValues.shape).toEqual(want.shape);
  expectClose(gotValues.data, await want.data(), { rtol: c.rtol ?? 1e-5, atol: c.atol ?? 1e-5 }, `${layer.getClassName()} output`);
}
