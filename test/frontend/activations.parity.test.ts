import { describe, expect, it } from 'vitest';
import { Input, Model, activations, interpretModel, layers } from '../../src/index.js';
import { expectParity } from '../support/parity.js';
import { tfjs } from '../support/tfjs.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;

/** Wide enough to reach relu6's and hardSigmoid's saturation and softplus's tails. */
const wide = (size: number, seed: number) => randomData(size, seed, -8, 8);
const shape = [4, 5];

/** Activation names TF.js 4.22 layers accept as strings. */
const TFJS_NAMES = ['linear', 'relu', 'relu6', 'elu', 'selu', 'gelu', 'sigmoid', 'hardSigmoid', 'tanh', 'softmax', 'softplus', 'softsign', 'swish'];

/** Names TF.js layers lack: compared with the Keras formula written in tf ops. */
const FORMULAS: Record<string, (tf: Tf, x: any) => any> = {
  exponential: (tf, x) => tf.exp(x),
  silu: (tf, x) => tf.mul(x, tf.sigmoid(x)),
};

async function expectFormula(name: string, formula: (tf: Tf, x: any) => any): Promise<void> {
  const tf = await tfjs();
  const x = Input({ shape });
  const model = new Model({ inputs: x, outputs: layers.Activation(name)(x) });
  const data = wide(3 * 20, 11);
  const got = Object.values(interpretModel(model, { shape: [3, ...shape], dtype: 'float32', data }, { precision: 'float32' }).outputs)[0];
  const want = formula(tf, tf.tensor(data, [3, ...shape]));
  expect(got.shape).toEqual(want.shape);
  expectClose(got.data, await want.data(), { rtol: 1e-5, atol: 1e-5 }, name);
}

describe('every activation through an Activation layer matches TF.js layers', () => {
  it('covers every name kiln knows', () => {
    const missing = activations.ACTIVATION_NAMES.filter((n) => !TFJS_NAMES.includes(n) && !FORMULAS[n]);
    expect(missing, 'activations without a parity test').toEqual([]);
  });
  it.each(TFJS_NAMES)('%s', (name) =>
    expectParity({ kiln: () => layers.Activation(name), tfjs: (l) => l.activation({ activation: name as never }), inputShapes: [shape], data: wide }));
  it("snake_case aliases resolve to the same function ('hard_sigmoid')", () =>
    expectParity({ kiln: () => layers.Activation({ activation: 'hard_sigmoid' }), tfjs: (l) => l.activation({ activation: 'hardSigmoid' }), inputShapes: [shape], data: wide }));
});

describe('activations TF.js layers lack, against their formula in tf ops', () => {
  it.each(Object.keys(FORMULAS))('%s', (name) => expectFormula(name, FORMULAS[name]));
  it('silu is recorded as swish in the config', () => {
    expect(layers.Activation('silu').getConfig().activation).toBe('swish');
  });
});
