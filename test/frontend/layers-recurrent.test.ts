/**
 * Recurrent layers beyond TF.js parity: GRU with resetAfter (Keras 2's default, which TF.js lacks)
 * against Keras's formula written out, configs that rebuild the same layers, and typed errors.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, clearSession, interpretModel, layers, nameScope, type Layer, type SymbolicTensor } from '../../src/index.js';
import { LAYER_CLASSES } from '../../src/frontend/layers/index.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

beforeEach(() => clearSession());

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('GRU with resetAfter', () => {
  it('follows Keras: hh = tanh(x·W_h + b_h + r ⊙ (h·R_h + b_rh)), h = z·h + (1 − z)·hh', () => {
    const [T, F, U] = [3, 2, 2];
    const gru = layers.GRU({ units: U, resetAfter: true, recurrentActivation: 'sigmoid' });
    const x = Input({ shape: [T, F] });
    const model = new Model({ inputs: x, outputs: gru(x) as SymbolicTensor });
    expect(gru.bias!.shape).toEqual([2, 3 * U]);
    const [W, R, b] = [randomData(F * 3 * U, 1), randomData(U * 3 * U, 2), randomData(2 * 3 * U, 3)];
    gru.setWeights([W, R, b]);
    const data = randomData(T * F, 4);
    const got = Object.values(interpretModel(model, data, { precision: 'float64' }).outputs)[0].data;
    let h = new Array<number>(U).fill(0);
    for (let t = 0; t < T; t++) {
      const mx = (j: number) => b[j] + Array.from({ length: F }, (_, f) => data[t * F + f] * W[f * 3 * U + j]).reduce((a, c) => a + c);
      const inner = (j: number) => b[3 * U + j] + h.reduce((a, hv, u) => a + hv * R[u * 3 * U + j], 0);
      h = h.map((hv, u) => {
        const z = sigmoid(mx(u) + inner(u));
        const r = sigmoid(mx(U + u) + inner(U + u));
        const hh = Math.tanh(mx(2 * U + u) + r * inner(2 * U + u));
        return z * hv + (1 - z) * hh;
      });
    }
    expectClose(got, h, { rtol: 1e-6, atol: 1e-6 }, 'h');
  });
});

describe('as the seed tutorials use them', () => {
  it('one LSTM shared by two inputs has one set of weights and gives equal outputs for equal inputs', () => {
    const lstm = layers.LSTM({ units: 3 });
    const [a, b] = [Input({ shape: [4, 2] }), Input({ shape: [4, 2] })];
    const model = new Model({ inputs: [a, b], outputs: [lstm(a) as SymbolicTensor, lstm(b) as SymbolicTensor] });
    expect(model.weights).toHaveLength(3);
    const data = randomData(2 * 4 * 2, 5);
    const [ya, yb] = Object.values(interpretModel(model, [data, data]).outputs);
    expect(Array.from(ya.data)).toEqual(Array.from(yb.data));
  });
  it('TimeDistributed and Bidirectional name weights as TF.js does', () => {
    const td = layers.TimeDistributed({ layer: layers.Dense(2), name: 'td' });
    const bi = layers.Bidirectional({ layer: layers.GRU({ units: 2, name: 'gru' }), name: 'bi' });
    bi(td(Input({ shape: [3, 4] })) as SymbolicTensor);
    expect(td.weights.map((w) => w.name)).toEqual(['td/kernel', 'td/bias']);
    expect(bi.weights.map((w) => w.name)).toEqual(['bi/forward_gru/kernel', 'bi/forward_gru/recurrent_kernel', 'bi/forward_gru/bias', 'bi/backward_gru/kernel', 'bi/backward_gru/recurrent_kernel', 'bi/backward_gru/bias']);
  });
  it('a name scope prefixes the weights of an LSTM built inside it', () => {
    const lstm = layers.LSTM({ units: 2 });
    nameScope('encoder', () => lstm(Input({ shape: [3, 2] })));
    expect(lstm.weights.map((w) => w.name)).toEqual(['encoder/lstm/kernel', 'encoder/lstm/recurrent_kernel', 'encoder/lstm/bias']);
  });
});

describe('configs', () => {
  const cases: [string, () => Layer][] = [
    ['SimpleRNN', () => layers.SimpleRNN({ units: 3, activation: 'relu', returnSequences: true, dropout: 0.1 })],
    ['LSTM', () => layers.LSTM({ units: 4, unitForgetBias: false, goBackwards: true, returnState: true, recurrentActivation: 'sigmoid' })],
    ['GRU', () => layers.GRU({ units: 2, resetAfter: true, useBias: false })],
    ['Bidirectional', () => layers.Bidirectional({ layer: layers.GRU({ units: 2, returnSequences: true }), mergeMode: 'ave' })],
    ['Bidirectional', () => layers.Bidirectional({ layer: layers.LSTM({ units: 2 }), backwardLayer: layers.LSTM({ units: 2, goBackwards: true, activation: 'relu' }), mergeMode: null })],
    ['TimeDistributed', () => layers.TimeDistributed({ layer: layers.Dense(3, { activation: 'relu' }) })],
    ['Masking', () => layers.Masking({ maskValue: -1 })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: fromConfig(getConfig()) rebuilds the same config`, () => {
      const layer = make();
      const config = layer.getConfig();
      const Ctor = LAYER_CLASSES[name] as unknown as typeof Layer;
      expect(Ctor.fromConfig(JSON.parse(JSON.stringify(config))).getConfig()).toEqual(config);
    });
  }
  it('LSTM config carries TF.js keys', () => {
    const config = layers.LSTM({ units: 5 }).getConfig();
    for (const key of ['units', 'activation', 'recurrentActivation', 'useBias', 'kernelInitializer', 'recurrentInitializer', 'biasInitializer', 'unitForgetBias', 'dropout', 'recurrentDropout', 'returnSequences', 'returnState', 'goBackwards', 'stateful', 'unroll', 'implementation']) {
      expect(config, key).toHaveProperty(key);
    }
    expect(config.recurrentInitializer).toEqual({ className: 'Orthogonal', config: { gain: 1, seed: null } });
  });
});

describe('typed errors name the layer and what was expected', () => {
  it('an RNN on a rank-2 input', () => {
    expect(() => layers.LSTM({ units: 3, name: 'enc' })(Input({ shape: [4] }))).toThrow(/enc.*rank 3/);
  });
  it('units that are not a positive integer', () => {
    expect(() => layers.GRU({ units: 0, name: 'g' })).toThrow(/GRU 'g': units must be a positive integer, got 0/);
  });
  it('initial states of the wrong count or shape', () => {
    const x = Input({ shape: [5, 2] });
    expect(() => layers.LSTM({ units: 3, name: 'l1' })(x, { initialState: [Input({ shape: [3] })] })).toThrow(/l1.*2 state\(s\) but was passed 1/);
    expect(() => layers.GRU({ units: 3, name: 'g1' })(x, { initialState: [Input({ shape: [4] })] })).toThrow(/g1.*initial h must have shape \(None, 3\)/);
  });
  it('Bidirectional of a layer that is not recurrent', () => {
    expect(() => layers.Bidirectional({ layer: layers.Dense(3), name: 'bi' })).toThrow(/Bidirectional 'bi': layer must be a SimpleRNN, LSTM or GRU, got Dense/);
  });
  it('stateful needs a fixed batch size, and resetStates applies to stateful layers only', () => {
    const x = Input({ shape: [4, 2] });
    expect(() => layers.LSTM({ units: 3, stateful: true })(x)).toThrow(/stateful RNN needs a fixed batch size/);
    const plain = layers.GRU({ units: 3 }) as unknown as { resetStates(): void };
    expect(() => plain.resetStates()).toThrow(/is not stateful/);
  });
});
