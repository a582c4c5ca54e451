import { beforeEach, describe, expect, it } from 'vitest';
import { Input, Model, Sequential, layers, ops, nameScope, deviceScope, clearSession, interpretModel, LayerVariable, type SymbolicTensor } from '../../src/index.js';
import { validate, LEARNING_PHASE, ModelError, ShapeError } from '../../src/ir/index.js';
import { randomData } from '../support/random.js';
import { expectClose } from '../support/close.js';

beforeEach(() => clearSession());

class Scale extends layers.Layer {
  w?: LayerVariable;
  override build(inputShape: (number | null)[]) {
    this.w = this.addWeight('w', [inputShape.at(-1)!], 'ones');
  }
  override call(x: SymbolicTensor) {
    return ops.mul(x, this.w!);
  }
}

describe('layers are callable on symbolic tensors', () => {
  it('layer(x) and layer.apply(x) record the same kind of call and infer shapes', () => {
    const x = Input({ shape: [784], name: 'img' });
    const d = layers.Dense(128, { activation: 'relu' });
    const y = d(x);
    expect(y.shape).toEqual([null, 128]);
    const z = d.apply(x) as SymbolicTensor;
    expect(z.shape).toEqual([null, 128]);
    expect(d.calls).toHaveLength(2);
    expect(d.weights.map((w) => w.name)).toEqual(['dense/kernel', 'dense/bias']);
  });

  it('layers can be created with or without new, positional or config', () => {
    expect(new layers.Dense({ units: 3 }).units).toBe(3);
    expect(layers.Dense(3).units).toBe(3);
    expect(layers.Dense(3)).toBeInstanceOf(layers.Dense);
  });

  it('names layers as Keras does and uniquifies them', () => {
    const names = [layers.Dense(1), layers.Dense(1), layers.Dropout(0.1), new Scale()].map((l) => l.name);
    expect(names).toEqual(['dense', 'dense_1', 'dropout', 'scale']);
  });
});

describe('functional models', () => {
  it('the tutorial MLP has the Keras layer list and parameter count', () => {
    const img = Input({ shape: [784], name: 'img' });
    let x = layers.Dense(128, { activation: 'relu' })(img);
    x = layers.Dropout(0.5)(x);
    x = layers.Dense(128, { activation: 'relu' })(x);
    const mlp = new Model({ inputs: img, outputs: layers.Dense(10, { activation: 'softmax' })(x) });
    expect(mlp.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'Dropout', 'Dense', 'Dense']);
    expect(mlp.countParams()).toBe(784 * 128 + 128 + 128 * 128 + 128 + 1290);
    expect(mlp.inputNames).toEqual(['img']);
    expect(mlp.outputNames).toEqual(['dense_2']);
    validate(mlp.toGraph());
  });

  it('a shared layer uses one set of weights for both calls', () => {
    const shared = layers.Dense(32);
    const a = Input({ shape: [16] });
    const b = Input({ shape: [16] });
    const siamese = new Model({ inputs: [a, b], outputs: layers.Dense(1)(layers.Add()([shared(a), shared(b)])) });
    expect(siamese.trainableWeights.filter((w) => w.name.startsWith('dense/'))).toHaveLength(2);
    const graph = siamese.toGraph();
    expect(graph.nodes.filter((n) => n.op === 'weight').map((n) => n.attrs.name)).toEqual(['dense/kernel', 'dense/bias', 'dense_1/kernel', 'dense_1/bias']);
  });

  it('replays on new inputs when called, sharing weights (nested models)', () => {
    const inner = new Sequential([layers.Dense(4, { inputShape: [3], activation: 'tanh' }), layers.Dense(2)]);
    const x = Input({ shape: [3] });
    const outer = new Model({ inputs: x, outputs: layers.Dense(1)(inner(x)) });
    expect(outer.countParams()).toBe(inner.countParams() + 3);
    const data = randomData(2 * 3, 3);
    const direct = interpretModel(inner, data).outputs;
    const kernel = outer.getLayer(2).weights[0];
    kernel.write([1, 1]);
    outer.getLayer(2).weights[1].write([0]);
    const nested = Object.values(interpretModel(outer, data).outputs)[0].data;
    const d = Object.values(direct)[0].data;
    expectClose(nested, [d[0] + d[1], d[2] + d[3]], { rtol: 1e-12, atol: 1e-12 });
  });

  it('residual adds and several outputs work', () => {
    const x = Input({ shape: [8] });
    const h = layers.Dense(8, { activation: 'relu' })(x);
    const y = ops.add(x, h);
    const res = new Model({ inputs: x, outputs: [h, layers.Dense(2)(layers.Activation('relu')(h))] });
    expect(res.outputs).toHaveLength(2);
    expect(y.shape).toEqual([null, 8]);
  });

  it('refuses a disconnected graph, naming the missing input', () => {
    const a = Input({ shape: [4], name: 'a' });
    const b = Input({ shape: [4], name: 'b' });
    const d = layers.Dense(2);
    const out = d(b);
    expect(() => new Model({ inputs: a, outputs: out })).toThrow(/graph disconnected.*'b'/);
  });

  it('refuses duplicate layer names', () => {
    const x = Input({ shape: [4] });
    const y = layers.Dense(2, { name: 'fc' })(layers.Dense(4, { name: 'fc' })(x));
    expect(() => new Model({ inputs: x, outputs: y })).toThrow(ModelError);
  });
});

describe('Sequential', () => {
  it('builds as layers are added when the first has an input shape', () => {
    const seq = new Sequential();
    seq.add(layers.Dense(512, { activation: 'relu', inputShape: [784] }));
    seq.add(layers.Dropout(0.2));
    seq.add(layers.Dense(10, { activation: 'softmax' }));
    expect(seq.outputs[0].shape).toEqual([null, 10]);
    expect(seq.countParams()).toBe(784 * 512 + 512 + 5130);
    expect(seq.layers).toHaveLength(3);
  });

  it('defers building until called or built without an input shape', () => {
    const seq = new Sequential([layers.Dense(3), layers.Dense(1)]);
    expect(() => seq.summary(() => {})).toThrow(/not been built/);
    seq.build([null, 5]);
    expect(seq.countParams()).toBe(5 * 3 + 3 + 4);
  });
});

describe('custom layers and subclassed models', () => {
  it('a custom layer from ops computes x·w with its own weight', () => {
    const x = Input({ shape: [3] });
    const scale = new Scale();
    const m = new Model({ inputs: x, outputs: scale(x) });
    scale.w!.write([1, 2, 3]);
    const out = Object.values(interpretModel(m, [1, 1, 1, 2, 2, 2]).outputs)[0];
    expect(Array.from(out.data)).toEqual([1, 2, 3, 2, 4, 6]);
    expect(scale.weights.map((w) => w.name)).toEqual(['scale/w']);
  });

  it('a subclassed model builds on its first call and tracks its layers', () => {
    class MyModel extends Model {
      d1 = layers.Dense(32, { activation: 'relu' });
      d2 = layers.Dense(10, { activation: 'sigmoid' });
      override call(x: SymbolicTensor) {
        return this.d2(this.d1(x));
      }
    }
    const m = new MyModel();
    expect(m.name).toBe('my_model');
    m.build([null, 20]);
    expect(m.layers.map((l) => l.name)).toEqual(['dense', 'dense_1']);
    expect(m.countParams()).toBe(20 * 32 + 32 + 330);
    const out = Object.values(interpretModel(m, randomData(40, 1)).outputs)[0];
    expect(out.shape).toEqual([2, 10]);
    expect(Array.from(out.data).every((v) => v > 0 && v < 1)).toBe(true);
  });
});

describe('scopes and the learning phase', () => {
  it('name scopes prefix weight names as Keras does', () => {
    const fc = nameScope('block1', () => {
      const l = layers.Dense(8, { name: 'fc' });
      l(Input({ shape: [4] }));
      return l;
    });
    expect(fc.weights.map((w) => w.name)).toEqual(['block1/fc/kernel', 'block1/fc/bias']);
  });

  it('device scopes are recorded on the nodes they create', () => {
    const x = Input({ shape: [4] });
    const y = deviceScope('/gpu:1', () => layers.Dense(2)(x));
    const m = new Model({ inputs: x, outputs: y });
    const matmul = m.toGraph().nodes.find((n) => n.op === 'matmul')!;
    expect(matmul.device).toBe('gpu:1');
  });

  it('the learning phase is a graph input; training=true/false fixes it', () => {
    const x = Input({ shape: [100] });
    const drop = layers.Dropout(0.5);
    const free = new Model({ inputs: x, outputs: drop(x) });
    expect(free.toGraph().nodes.some((n) => n.op === 'input' && n.attrs.name === LEARNING_PHASE)).toBe(true);
    const data = randomData(100, 5, 0.5, 1);
    const infer = Object.values(interpretModel(free, data).outputs)[0].data;
    expect(Array.from(infer)).toEqual(Array.from(data, (v) => v));
    const train = Object.values(interpretModel(free, data, { training: true }).outputs)[0].data;
    const zeros = Array.from(train).filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(25);
    expect(zeros).toBeLessThan(75);
    const fixed = new Model({ inputs: x, outputs: drop(x, { training: false }) });
    expect(fixed.toGraph().nodes.some((n) => n.attrs.name === LEARNING_PHASE)).toBe(false);
  });
});

describe('definition-time errors name the layer and the shapes', () => {
  it('Dense on a rank-1 tensor', () => {
    expect(() => layers.Dense(3, { name: 'head' })(Input({ batchShape: [4] }))).toThrow(/Layer 'head' \(Dense\): expected input of rank ≥ 2, got shape \(4,\)/);
  });
  it('Dense called again on a different feature size', () => {
    const d = layers.Dense(3, { name: 'fc' });
    d(Input({ shape: [8] }));
    expect(() => d(Input({ shape: [16] }))).toThrow(ShapeError);
    expect(() => d(Input({ shape: [16] }))).toThrow(/'fc'.*\(None, 16\)/);
  });
  it('an op in a custom layer with mismatched shapes', () => {
    class Bad extends layers.Layer {
      override call(x: SymbolicTensor) {
        return ops.matmul(x, ops.constant([1, 2, 3, 4], [2, 2]));
      }
    }
    expect(() => new Bad({ name: 'bad' })(Input({ shape: [3] }))).toThrow(/Layer 'bad' \(Bad\): matmul: .*\(None, 3\).*\(2, 2\)/);
  });
  it('a layer called on concrete data', () => {
    expect(() => layers.Dense(2)(new Float32Array(4) as never)).toThrow(/symbolic tensor/);
  });
  it('a bad activation name lists the known ones', () => {
    expect(() => layers.Dense(2, { activation: 'relux' })).toThrow(/unknown activation 'relux'; known: .*relu/);
  });
});
