/**
 * autodiff as a pass: its contract (docs/training.md), whole frontend models against finite
 * differences of the float64 interpreter, and the MLP and CNN against TF.js's gradients.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Input, Model, Sequential, layers } from '../../src/index.js';
import { interpret, registerOps, validate, GraphError, type Graph, type NDArray, type ValueRef } from '../../src/ir/index.js';
import { defineOp, tensor } from '../../src/ir/ops/common.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { autodiff } from '../../src/passes/autodiff.js';
import { constantFold, cse, dce, foldLearningPhase, fuseElementwise, fuseEpilogues, specializeBatch } from '../../src/passes/index.js';
import { runPipeline } from '../../src/passes/pipelines.js';
import type { Program } from '../../src/passes/program.js';
import { cnn, denseBn, resnetBlock } from './models.js';
import { bodyOps, compileChecked, programOf, randomFeeds, INFER } from './helpers.js';
import { randomData, randomInts } from '../support/random.js';
import { expectClose } from '../support/close.js';

/** Whole models in float64 against central differences (h = 1e-5·max(1, |w|)). */
const FD_TOL = { rtol: 1e-5, atol: 1e-7 };
/** TF.js computes in float32, the interpreter in float64. */
const TFJS_TOL = { rtol: 1e-4, atol: 1e-6 };

const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });

/** A program from a builder callback: weights `w*` get the given values; outputs as returned. */
function build(weights: Record<string, number[]>, shapes: Record<string, number[]>, body: (b: GraphBuilder, w: Record<string, ValueRef>) => Record<string, ValueRef>, updates: { weight: string; value: string }[] = []): Program {
  const b = new GraphBuilder();
  const refs = Object.fromEntries(Object.keys(weights).map((n) => [n, b.add('weight', [], { name: n, shape: shapes[n], dtype: 'float32' }, n)[0]]));
  const outs = body(b, refs);
  const graph = b.build(Object.entries(outs).map(([name, value]) => ({ name, value })), updates.map((u) => ({ weight: u.weight, value: outs[u.value] })));
  return { graph, weights: new Map(Object.entries(weights).map(([n, v]) => [n, { ...f32(shapes[n]), data: Float64Array.from(v) }])) };
}

/** The model's graph with a categorical cross-entropy, −Σ yTrue·log(yPred) / batch, as output `loss`. */
function withCrossEntropy(model: Model): Program {
  const p = programOf(model);
  const b = new GraphBuilder();
  const map = new Map<number, number>();
  for (const n of p.graph.nodes) map.set(n.id, b.copy(n, n.inputs.map((r) => ({ node: map.get(r.node)!, output: r.output })))[0].node);
  const remap = (r: ValueRef) => ({ node: map.get(r.node)!, output: r.output });
  const yPred = remap(p.graph.outputs[0].value);
  const [yTrue] = b.add('input', [], { name: 'y_true', shape: [...b.type(yPred).shape], dtype: 'float32' }, 'y_true');
  const [logP] = b.add('log', [yPred], {}, 'ce/log');
  const [perSample] = b.add('reduceSum', [b.add('mul', [yTrue, logP], {}, 'ce/mul')[0]], { axes: [-1] }, 'ce/sum');
  const [loss] = b.add('neg', [b.add('reduceMean', [perSample], {}, 'ce/mean')[0]], {}, 'ce/neg');
  const graph = b.build([...p.graph.outputs.map((o) => ({ ...o, value: remap(o.value) })), { name: 'loss', value: loss }], p.graph.updates.map((u) => ({ ...u, value: remap(u.value) })));
  return { graph, weights: p.weights };
}

/** One-hot targets for every row of a [batch, classes] output. */
function oneHotRows(batch: number, classes: number, seed: number): NDArray {
  const data = new Float32Array(batch * classes);
  randomInts(batch, classes, seed).forEach((c, i) => (data[i * classes + c] = 1));
  return { shape: [batch, classes], dtype: 'float32', data };
}

const lossOf = (graph: Graph, weights: ReadonlyMap<string, NDArray>, feeds: Record<string, NDArray>, training: boolean) =>
  interpret(graph, feeds, { weights, precision: 'float64', training }).outputs.loss.data[0];

/** Central differences of the loss in every element of one weight. */
function finiteDifferences(p: Program, name: string, feeds: Record<string, NDArray>, training: boolean): Float64Array {
  const w = p.weights.get(name)!;
  return Float64Array.from(w.data, (v, i) => {
    const h = 1e-5 * Math.max(1, Math.abs(v));
    const at = (x: number) => {
      const data = Float64Array.from(w.data);
      data[i] = x;
      return lossOf(p.graph, new Map(p.weights).set(name, { ...w, data }), feeds, training);
    };
    return (at(v + h) - at(v - h)) / (v + h - (v - h));
  });
}

describe('autodiff: the contract', () => {
  const square = () => build({ w: [0.5, -1.5, 2], u: [1, 2, 3] }, { w: [3], u: [3] }, (b, { w }) => {
    const [sq] = b.add('reduceSum', [b.add('mul', [w, w], {}, 'sq')[0]], {}, 'sum_sq');
    const [ex] = b.add('reduceSum', [b.add('exp', [w], {}, 'exp')[0]], {}, 'sum_exp');
    return { loss: b.add('add', [sq, ex], {}, 'loss')[0], w2: sq };
  });

  it('sums the gradients that meet, keeps outputs, and gives zeros to weights the loss does not read', () => {
    const p = square();
    const out = autodiff(p, { loss: 'loss', wrt: ['w', 'u'] });
    validate(out.graph);
    expect(out.graph.outputs.map((o) => o.name)).toEqual(['loss', 'w2', 'grad/w', 'grad/u']);
    const { outputs } = interpret(out.graph, {}, { weights: p.weights });
    // d/dw Σ(w·w + eʷ) = 2w + eʷ: w reaches the loss through mul (twice) and exp.
    expectClose(outputs['grad/w'].data, [0.5, -1.5, 2].map((w) => 2 * w + Math.exp(w)), { rtol: 1e-12, atol: 0 });
    expect(Array.from(outputs['grad/u'].data)).toEqual([0, 0, 0]);
    expect(outputs.w2.data[0]).toBe(0.25 + 2.25 + 4);
  });

  it('does not mutate its input and leaves no backward node unread', () => {
    const p = square();
    const before = JSON.stringify(p.graph);
    const out = autodiff(p, { loss: 'loss', wrt: ['w'] });
    expect(JSON.stringify(p.graph)).toBe(before);
    // dce removes the unused forward weight 'u' from both, and nothing else from the differentiated one.
    const removed = (q: Program) => q.graph.nodes.length - dce.run(q, INFER).graph.nodes.length;
    expect(removed(out)).toBe(removed(p));
  });

  it('rejects a missing or non-scalar loss, and unknown or repeated weights, naming them', () => {
    const p = square();
    expect(() => autodiff(p, { loss: 'nope', wrt: ['w'] })).toThrow(/no output named 'nope'.*'loss', 'w2'/);
    const vector = build({ w: [1, 2] }, { w: [2] }, (b, { w }) => ({ loss: b.add('exp', [w], {}, 'e')[0] }));
    expect(() => autodiff(vector, { loss: 'loss', wrt: ['w'] })).toThrow(/loss 'loss' must be a float scalar, got \(2,\) float32/);
    const ints = build({ w: [1] }, { w: [] }, (b, { w }) => ({ loss: b.add('cast', [w], { dtype: 'int32' }, 'c')[0] }));
    expect(() => autodiff(ints, { loss: 'loss', wrt: ['w'] })).toThrow(/must be a float scalar, got \(\) int32/);
    expect(() => autodiff(p, { loss: 'loss', wrt: ['v'] })).toThrow(/'v' is not a weight/);
    expect(() => autodiff(p, { loss: 'loss', wrt: ['w', 'w'] })).toThrow(/'w' is listed twice/);
  });

  it('an op without a rule on the path to the loss is a GraphError naming the op and node; off the path it is fine', () => {
    registerOps([defineOp({ name: 'testNoGradient', arity: 1, attrs: {}, infer: ([x]) => [tensor(x.shape, x.dtype)], reference: ([x]) => [x] })]);
    const p = build({ w: [1, 2] }, { w: [2] }, (b, { w }) => {
      const [odd] = b.add('testNoGradient', [w], {}, 'block/odd');
      return { loss: b.add('reduceSum', [odd], {}, 'loss')[0], side: b.add('testNoGradient', [w], {}, 'side')[0] };
    });
    expect(() => autodiff(p, { loss: 'loss', wrt: ['w'] })).toThrow(GraphError);
    expect(() => autodiff(p, { loss: 'loss', wrt: ['w'] })).toThrow(/op 'testNoGradient' \(node 'block\/odd'\) has no gradient rule/);
    const off = build({ w: [1, 2] }, { w: [2] }, (b, { w }) => ({ loss: b.add('reduceSum', [w], {}, 'loss')[0], side: b.add('testNoGradient', [w], {}, 'side')[0] }));
    expect(Array.from(interpret(autodiff(off, { loss: 'loss', wrt: ['w'] }).graph, {}, { weights: off.weights }).outputs['grad/w'].data)).toEqual([1, 1]);
  });

  it('its output goes through the later training passes (fold, cse, dce, fusion) with unchanged values', () => {
    const ctx = { phase: 'training' as const, batch: 2 };
    const p = runPipeline(withCrossEntropy(cnn()), [specializeBatch, foldLearningPhase, constantFold], ctx, { check: true });
    const out = compileChecked(autodiff(p, { loss: 'loss', wrt: [...p.weights.keys()] }), [constantFold, cse, dce, fuseEpilogues, fuseElementwise, dce], ctx);
    expect(out.graph.nodes.some((n) => n.op === 'fused')).toBe(true);
    // The pooling's gradient leads the epilogue group of relu's mask; the filter gradient stays alone.
    const ops = out.graph.nodes.flatMap((n) => (n.op === 'fused' ? bodyOps(n) : [n.op]));
    expect(ops.filter((op) => op === 'maxPool2dGrad' || op === 'conv2dBackpropFilter')).toHaveLength(2);
  });

  it('keeps the updates of batch-norm moving statistics, computing the same values', () => {
    const p = withCrossEntropy(denseBn());
    const out = autodiff(p, { loss: 'loss', wrt: [...p.weights.keys()].filter((n) => !n.includes('moving')) });
    validate(out.graph);
    expect(out.graph.updates.map((u) => u.weight)).toEqual(p.graph.updates.map((u) => u.weight));
    const feeds = { ...randomFeeds(p.graph, 4), y_true: oneHotRows(4, 6, 3) };
    const [a, b] = [p, out].map((q) => interpret(q.graph, feeds, { weights: q.weights, training: true }));
    expect(b.updates).toEqual(a.updates);
    expect(b.outputs.loss).toEqual(a.outputs.loss);
  });
});

/** Small models with an unknown batch, in training mode where they have a learning phase. */
const MODELS: Record<string, { model: () => Model; classes: number; ints?: number }> = {
  'Dense → BatchNorm (training)': { model: () => withSoftmax(denseBn()), classes: 6 },
  'resnet block: conv, BN, relu, residual add (training)': { model: () => withSoftmax(resnetBlock(), true), classes: 144 },
  'Dense relu → Dropout → Dense softmax (training)': {
    model: () => new Sequential([layers.Dense(6, { inputShape: [5], activation: 'relu' }), layers.Dropout(0.4, { seed: 3 }), layers.Dense(4, { activation: 'softmax' })]),
    classes: 4,
  },
  'DepthwiseConv2D tanh → AveragePooling2D same → Dense softmax': {
    model: () => new Sequential([
      layers.DepthwiseConv2D(3, { inputShape: [6, 6, 2], depthMultiplier: 2, padding: 'same', activation: 'tanh' }),
      layers.AveragePooling2D({ poolSize: 2, padding: 'same', strides: 2 }),
      layers.Flatten(),
      layers.Dense(3, { activation: 'softmax' }),
    ]),
    classes: 3,
  },
  'two Dense branches → Concatenate → Dense softmax': {
    model: () => {
      const x = Input({ shape: [4] });
      const y = layers.Concatenate()([layers.Dense(3, { activation: 'sigmoid' })(x), layers.Dense(2, { activation: 'elu' })(x)]);
      return new Model({ inputs: x, outputs: layers.Dense(3, { activation: 'softmax' })(y) });
    },
    classes: 3,
  },
  'Embedding (repeated indices) → Flatten → Dense softmax': {
    model: () => new Sequential([layers.Embedding(5, 3, { inputLength: 4 }), layers.Flatten(), layers.Dense(3, { activation: 'softmax' })]),
    classes: 3,
    ints: 5,
  },
};

/** A model followed by (flatten and) softmax, so cross-entropy applies. */
function withSoftmax(inner: Model, flatten = false): Model {
  const y = inner.outputs[0];
  return new Model({ inputs: inner.inputs, outputs: layers.Activation('softmax')(flatten ? layers.Flatten()(y) : y) });
}

/** Random feeds; with `ints`, the first input holds indices below it, repeating (Embedding casts them to int32). */
function feedsFor(graph: Graph, batch: number, ints?: number): Record<string, NDArray> {
  const feeds = randomFeeds(graph, batch, 11);
  const first = graph.nodes.find((n) => n.op === 'input')!;
  if (ints === undefined) return feeds;
  const shape = first.outputs[0].shape.map((d) => d ?? batch);
  const data = Float32Array.from(randomInts(shape.reduce((a, b) => a * b, 1), ints, 13));
  return { ...feeds, [first.attrs.name as string]: { shape, dtype: first.outputs[0].dtype, data } };
}

describe('autodiff on whole models matches finite differences (float64, unknown batch)', () => {
  for (const [label, { model, classes, ints }] of Object.entries(MODELS)) {
    it(label, () => {
      const p = withCrossEntropy(model());
      const wrt = [...p.weights.keys()].filter((n) => !n.includes('moving'));
      const out = autodiff(p, { loss: 'loss', wrt });
      validate(out.graph);
      const feeds = { ...feedsFor(p.graph, 3, ints), y_true: oneHotRows(3, classes, 5) };
      const got = interpret(out.graph, feeds, { weights: out.weights, precision: 'float64', training: true }).outputs;
      for (const name of wrt) expectClose(got[`grad/${name}`].data, finiteDifferences(p, name, feeds, true), FD_TOL, `${label}: grad/${name}`);
    });
  }
});

describe('autodiff matches TF.js gradients (tf.variableGrads, CPU backend, same weights)', () => {
  const cases: Record<string, { kiln: () => Model; tfjs: () => tf.LayersModel; input: number[]; classes: number }> = {
    'MLP: Dense relu → Dense softmax': {
      kiln: () => new Sequential([layers.Dense(8, { inputShape: [5], activation: 'relu' }), layers.Dense(4, { activation: 'softmax' })]),
      tfjs: () => tf.sequential({ layers: [tf.layers.dense({ units: 8, inputShape: [5], activation: 'relu' }), tf.layers.dense({ units: 4, activation: 'softmax' })] }),
      input: [5],
      classes: 4,
    },
    'CNN: Conv2D relu → MaxPool → Flatten → Dense softmax': {
      kiln: () => new Sequential([
        layers.Conv2D(4, 3, { inputShape: [8, 8, 3], activation: 'relu', biasInitializer: 'ones' }),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, { activation: 'softmax' }),
      ]),
      tfjs: () => tf.sequential({ layers: [
        tf.layers.conv2d({ filters: 4, kernelSize: 3, inputShape: [8, 8, 3], activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ] }),
      input: [8, 8, 3],
      classes: 10,
    },
  };

  for (const [label, c] of Object.entries(cases)) {
    it(label, async () => {
      await tf.setBackend('cpu');
      const batch = 4;
      const p = withCrossEntropy(c.kiln());
      const names = [...p.weights.keys()];
      const out = autodiff(p, { loss: 'loss', wrt: names });
      const x: NDArray = { shape: [batch, ...c.input], dtype: 'float32', data: randomData(batch * c.input.reduce((a, b) => a * b, 1), 21) };
      const yTrue = oneHotRows(batch, c.classes, 9);
      const got = interpret(out.graph, { [out.graph.nodes[0].attrs.name as string]: x, y_true: yTrue }, { weights: out.weights, precision: 'float64' }).outputs;

      const tfModel = c.tfjs();
      expect(tfModel.trainableWeights.map((w) => w.shape)).toEqual(names.map((n) => p.weights.get(n)!.shape));
      tfModel.setWeights(names.map((n) => tf.tensor(Array.from(p.weights.get(n)!.data), [...p.weights.get(n)!.shape])));
      const vars = tfModel.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const yPred = tfModel.apply(tf.tensor(x.data as Float32Array, x.shape as number[])) as tf.Tensor;
        return tf.div(tf.neg(tf.sum(tf.mul(tf.tensor(yTrue.data as Float32Array, yTrue.shape as number[]), tf.log(yPred)))), batch) as tf.Scalar;
      }, vars);
      expectClose(got.loss.data, await value.data(), TFJS_TOL, `${label}: loss`);
      for (const [i, name] of names.entries()) expectClose(got[`grad/${name}`].data, await grads[vars[i].name].data(), TFJS_TOL, `${label}: grad/${name}`);
    });
  }
});
