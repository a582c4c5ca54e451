/**
 * Keras parity of SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed and masking: the same model in
 * kiln (run on the float32 reference interpreter) and in TF.js layers, with kiln's weights copied
 * into TF.js, gives every output within the tolerance below.
 */
import { describe, expect, it } from 'vitest';
import { Input, Model, clearSession, interpretModel, layers, type SymbolicTensor } from '../../src/index.js';
import { tfjs } from '../support/tfjs.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

/** float32 through 6–12 recurrent steps: rounding compounds a little per step. */
const TOL = { rtol: 1e-4, atol: 1e-5 };

type Tf = Awaited<ReturnType<typeof tfjs>>;

/** One model input: sample shape, dtype, and data. */
interface Feed {
  shape: number[];
  dtype?: 'float32' | 'int32';
  data?: (size: number, seed: number) => Float32Array | Int32Array;
}

interface Case {
  inputs: Feed[];
  kiln: (xs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[];
  tfjs: (tf: Tf, xs: any[]) => any;
  batch?: number;
}

async function expectRecurrentParity(c: Case): Promise<void> {
  const tf = await tfjs();
  const batch = c.batch ?? 3;
  const xs = c.inputs.map((f) => Input({ shape: f.shape, dtype: f.dtype ?? 'float32' }));
  const outs = [c.kiln(xs)].flat();
  const model = new Model({ inputs: xs, outputs: outs });
  const txs = c.inputs.map((f) => tf.input({ shape: f.shape, dtype: f.dtype ?? 'float32' }));
  const touts = [c.tfjs(tf, txs)].flat();
  const tmodel = tf.model({ inputs: txs, outputs: touts });
  expect(outs.map((t) => t.shape), 'output shapes').toEqual(touts.map((t: any) => t.shape));
  expect(model.countParams(), 'parameter count').toBe(tmodel.countParams());
  expect(model.weights.map((w) => w.shape), 'weight shapes').toEqual(tmodel.weights.map((w: any) => w.shape));
  tmodel.setWeights(model.getWeights().map((v, i) => tf.tensor(v, model.weights[i].shape as number[])));

  const data = c.inputs.map((f, i) => {
    const size = batch * f.shape.reduce((a, b) => a * b, 1);
    return { shape: [batch, ...f.shape], dtype: f.dtype ?? 'float32', data: f.data ? f.data(size, 21 + i) : randomData(size, 21 + i) };
  });
  const got = Object.values(interpretModel(model, data, { precision: 'float32' }).outputs);
  const want = [tmodel.predict(data.map((d) => tf.tensor(d.data as Float32Array, d.shape, d.dtype)))].flat() as any[];
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    expect(got[i].shape, `output ${i} shape`).toEqual(want[i].shape);
    expectClose(got[i].data, await want[i].data(), TOL, `output ${i}`);
  }
}

const seq = (T: number, F: number): Feed => ({ shape: [T, F] });
const one = (xs: SymbolicTensor[]) => xs[0];

describe('SimpleRNN, LSTM and GRU match TF.js layers with the same weights', () => {
  const cells = [
    ['SimpleRNN', layers.SimpleRNN, 'simpleRNN'],
    ['LSTM', layers.LSTM, 'lstm'],
    ['GRU', layers.GRU, 'gru'],
  ] as const;
  for (const [name, Kiln, tfName] of cells) {
    it(`${name}: last output, default activations`, () =>
      expectRecurrentParity({ inputs: [seq(6, 5)], kiln: (xs) => Kiln({ units: 4 })(one(xs)) as SymbolicTensor, tfjs: (tf, xs) => (tf.layers as any)[tfName]({ units: 4 }).apply(xs[0]) }));
    it(`${name}: returnSequences and returnState, goBackwards, sigmoid/relu activations`, () => {
      const opts = { units: 3, returnSequences: true, returnState: true, goBackwards: true, activation: 'relu', ...(name === 'SimpleRNN' ? {} : { recurrentActivation: 'sigmoid' }) };
      return expectRecurrentParity({ inputs: [seq(7, 4)], kiln: (xs) => Kiln(opts)(one(xs)), tfjs: (tf, xs) => (tf.layers as any)[tfName](opts).apply(xs[0]) });
    });
    it(`${name}: without bias, with initial states from inputs`, () => {
      const states = name === 'LSTM' ? 2 : 1;
      return expectRecurrentParity({
        inputs: [seq(5, 3), ...Array.from({ length: states }, () => ({ shape: [4] }))],
        kiln: ([x, ...s]) => Kiln({ units: 4, useBias: false })(x, { initialState: s }) as SymbolicTensor,
        tfjs: (tf, [x, ...s]) => (tf.layers as any)[tfName]({ units: 4, useBias: false }).apply(x, { initialState: s }),
      });
    });
  }

  it('LSTM 32 on 64 inputs has 12,416 parameters, named as TF.js names them', () => {
    clearSession();
    const lstm = layers.LSTM({ units: 32 });
    lstm(Input({ shape: [20, 64] }));
    expect(lstm.countParams()).toBe(12416);
    expect(lstm.weights.map((w) => w.name)).toEqual(['lstm/kernel', 'lstm/recurrent_kernel', 'lstm/bias']);
  });

  it('LSTM unitForgetBias starts the forget gate bias at one', () => {
    const lstm = layers.LSTM({ units: 3 });
    lstm(Input({ shape: [2, 2] }));
    expect(Array.from(lstm.bias!.read())).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('dropout and recurrentDropout leave inference untouched', () =>
    expectRecurrentParity({
      inputs: [seq(5, 3)],
      kiln: (xs) => layers.LSTM({ units: 4, dropout: 0.3, recurrentDropout: 0.4 })(one(xs)) as SymbolicTensor,
      tfjs: (tf, xs) => tf.layers.lstm({ units: 4, dropout: 0.3, recurrentDropout: 0.4 }).apply(xs[0]),
    }));
});

describe('masking matches TF.js', () => {
  // Trailing and inner zeros: masked steps carry state and output forward.
  const tokens = (size: number, seed: number) => randomInts(size, 4, seed);
  for (const [name, Kiln, tfName] of [['LSTM', layers.LSTM, 'lstm'], ['GRU', layers.GRU, 'gru'], ['SimpleRNN', layers.SimpleRNN, 'simpleRNN']] as const) {
    it(`Embedding(maskZero) → ${name} (sequences and last output)`, () =>
      expectRecurrentParity({
        inputs: [{ shape: [8], dtype: 'int32', data: tokens }],
        kiln: (xs) => {
          const e = layers.Embedding({ inputDim: 4, outputDim: 3, maskZero: true })(one(xs)) as SymbolicTensor;
          return [Kiln({ units: 4, returnSequences: true })(e) as SymbolicTensor, Kiln({ units: 2 })(e) as SymbolicTensor];
        },
        tfjs: (tf, xs) => {
          const e = tf.layers.embedding({ inputDim: 4, outputDim: 3, maskZero: true }).apply(xs[0]);
          return [(tf.layers as any)[tfName]({ units: 4, returnSequences: true }).apply(e), (tf.layers as any)[tfName]({ units: 2 }).apply(e)];
        },
      }));
  }
  it('the mask passes through Dropout, Activation and BatchNormalization to the LSTM', () =>
    expectRecurrentParity({
      inputs: [{ shape: [7], dtype: 'int32', data: (n, s) => randomInts(n, 4, s) }],
      kiln: (xs) => {
        let t = layers.Embedding({ inputDim: 4, outputDim: 3, maskZero: true })(one(xs)) as SymbolicTensor;
        t = layers.BatchNormalization()(layers.Activation('tanh')(layers.Dropout(0.5)(t) as SymbolicTensor) as SymbolicTensor) as SymbolicTensor;
        return layers.LSTM({ units: 3, returnSequences: true })(t) as SymbolicTensor;
      },
      tfjs: (tf, xs) => {
        let t = tf.layers.embedding({ inputDim: 4, outputDim: 3, maskZero: true }).apply(xs[0]);
        t = tf.layers.batchNormalization().apply(tf.layers.activation({ activation: 'tanh' }).apply(tf.layers.dropout({ rate: 0.5 }).apply(t)));
        return tf.layers.lstm({ units: 3, returnSequences: true }).apply(t);
      },
    }));
  it('Masking(maskValue) → LSTM', () =>
    expectRecurrentParity({
      inputs: [{ shape: [6, 2], data: (n, s) => Float32Array.from(randomData(n, s), (v) => (v > 0.3 ? 0.5 : v)) }],
      kiln: (xs) => layers.LSTM({ units: 3 })(layers.Masking({ maskValue: 0.5 })(one(xs)) as SymbolicTensor) as SymbolicTensor,
      tfjs: (tf, xs) => tf.layers.lstm({ units: 3 }).apply(tf.layers.masking({ maskValue: 0.5 }).apply(xs[0])),
    }));
});

describe('wrappers match TF.js', () => {
  for (const mergeMode of ['concat', 'sum', 'mul', 'ave', null] as const) {
    it(`Bidirectional(LSTM, returnSequences) merge ${mergeMode}`, () =>
      expectRecurrentParity({
        inputs: [seq(5, 3)],
        kiln: (xs) => layers.Bidirectional({ layer: layers.LSTM({ units: 4, returnSequences: true }), mergeMode })(one(xs)),
        tfjs: (tf, xs) => tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 4, returnSequences: true }) as any, mergeMode: mergeMode as any }).apply(xs[0]),
      }));
  }
  it('Bidirectional(GRU) last output over a masked embedding', () =>
    expectRecurrentParity({
      inputs: [{ shape: [7], dtype: 'int32', data: (n, s) => randomInts(n, 5, s) }],
      kiln: (xs) => layers.Bidirectional({ layer: layers.GRU({ units: 3 }) })(layers.Embedding({ inputDim: 5, outputDim: 4, maskZero: true })(one(xs)) as SymbolicTensor) as SymbolicTensor,
      tfjs: (tf, xs) => tf.layers.bidirectional({ layer: tf.layers.gru({ units: 3 }) as any }).apply(tf.layers.embedding({ inputDim: 5, outputDim: 4, maskZero: true }).apply(xs[0])),
    }));
  it('TimeDistributed(Dense) after an LSTM sequence', () =>
    expectRecurrentParity({
      inputs: [seq(4, 3)],
      kiln: (xs) => layers.TimeDistributed({ layer: layers.Dense(2, { activation: 'tanh' }) })(layers.LSTM({ units: 5, returnSequences: true })(one(xs)) as SymbolicTensor) as SymbolicTensor,
      tfjs: (tf, xs) => tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 2, activation: 'tanh' }) }).apply(tf.layers.lstm({ units: 5, returnSequences: true }).apply(xs[0])),
    }));
});
