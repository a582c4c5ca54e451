/** The models the pass specs run on, built with the frontend. Small shapes: tests must take seconds. */
import { Input, Model, Sequential, layers, type Layer, type SymbolicTensor } from '../../src/index.js';
import { randomData } from '../support/random.js';

/** The bench MLP: Dense 512 relu, Dropout .2, twice, then Dense 10 softmax. */
export function mlp(): Model {
  return new Sequential([
    layers.Dense(512, { inputShape: [784], activation: 'relu' }),
    layers.Dropout(0.2),
    layers.Dense(512, { activation: 'relu' }),
    layers.Dropout(0.2),
    layers.Dense(10, { activation: 'softmax' }),
  ]);
}

/** Conv2D relu, MaxPool, Flatten, Dense softmax. */
export function cnn(): Model {
  return new Sequential([
    layers.Conv2D(4, 3, { inputShape: [8, 8, 3], activation: 'relu', biasInitializer: 'ones' }),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(10, { activation: 'softmax' }),
  ]);
}

/** Gives a BatchNormalization non-trivial gamma, beta and moving statistics (variance > 0). */
export function randomizeBatchNorm(bn: Layer, seed: number): Layer {
  const c = bn.weights[0].shape[0] as number;
  const r = (k: number, lo: number, hi: number) => Array.from(randomData(c, seed + k, lo, hi));
  bn.setWeights([r(0, 0.5, 1.5), r(1, -0.5, 0.5), r(2, -0.3, 0.3), r(3, 0.5, 2)]);
  return bn;
}

/** The resnet block: conv (no bias) → BN → relu → conv → BN, add the input, relu. */
export function resnetBlock(): Model {
  const x = Input({ shape: [6, 6, 4] });
  const bn1 = layers.BatchNormalization();
  const bn2 = layers.BatchNormalization();
  let y = layers.Conv2D(4, 3, { padding: 'same', useBias: false })(x);
  y = layers.Activation('relu')(bn1(y));
  y = bn2(layers.Conv2D(4, 3, { padding: 'same', useBias: false })(y));
  const out = layers.Activation('relu')(layers.Add()([y, x]));
  const model = new Model({ inputs: x, outputs: out });
  randomizeBatchNorm(bn1, 31);
  randomizeBatchNorm(bn2, 41);
  return model;
}

/** A residual block with the ResNet's head: global average pooling, then Dense softmax. */
export function resnetWithHead(): Model {
  const block = resnetBlock();
  const pooled = layers.GlobalAveragePooling2D()(block.outputs[0]);
  return new Model({ inputs: block.inputs, outputs: layers.Dense(3, { activation: 'softmax' })(pooled) });
}

/** Dense → BatchNormalization. */
export function denseBn(): Model {
  const x = Input({ shape: [5] });
  const bn = layers.BatchNormalization();
  const model = new Model({ inputs: x, outputs: bn(layers.Dense(6, { biasInitializer: 'ones' })(x)) });
  randomizeBatchNorm(bn, 51);
  return model;
}

/** Projection shortcut: two convs of the same input meet in a residual add, then relu. */
export function twoBranches(): Model {
  const x = Input({ shape: [5, 5, 3] });
  const a = layers.Conv2D(4, 3, { padding: 'same' })(x);
  const b = layers.Conv2D(4, 1)(x);
  return new Model({ inputs: x, outputs: layers.Activation('relu')(layers.Add()([a, b])) });
}

/** A model whose body is raw ops, wrapped in one custom layer as the frontend requires. */
export function opsModel(inputShapes: number[][], fn: (...xs: SymbolicTensor[]) => SymbolicTensor | SymbolicTensor[]): Model {
  class Ops extends layers.Layer {
    override call(inputs: SymbolicTensor | SymbolicTensor[]) {
      return fn(...(Array.isArray(inputs) ? inputs : [inputs]));
    }
  }
  const xs = inputShapes.map((shape, i) => Input({ shape, name: `in${i}` }));
  const out = new Ops().apply(xs.length === 1 ? xs[0] : xs);
  return new Model({ inputs: xs, outputs: out });
}
