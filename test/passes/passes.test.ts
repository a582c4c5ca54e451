import { beforeEach, describe, expect, it } from 'vitest';
import { Product } from '../support/products.js';
import { Input, Model, clearSession, layers, ops, type SymbolicTensor } from '../../src/index.js';
import { LEARNING_PHASE, type NDArray } from '../../src/ir/index.js';
import { GraphBuilder } from '../../src/passes/builder.js';
import { randomData } from '../support/random.js';
import { specializeBatch } from '../../src/passes/bind-batch.js';
import { foldLearningPhase } from '../../src/passes/learning-phase.js';
import { constantFold } from '../../src/passes/constant-fold.js';
import { foldBatchNorm } from '../../src/passes/fold-batchnorm.js';
import { cse } from '../../src/passes/cse.js';
import { dce } from '../../src/passes/dce.js';
import { fuseEpilogues } from '../../src/passes/fuse-epilogues.js';
import { fuseElementwise } from '../../src/passes/fuse-elementwise.js';
import { bodyOps, compileChecked, fusedOf, nodesOf, programOf } from './helpers.js';
import { cnn, denseBn, mlp, opsModel, randomizeBatchNorm, resnetBlock, twoBranches } from './models.js';

beforeEach(() => clearSession());

const front = [specializeBatch, foldLearningPhase, constantFold];
const nd = (shape: number[], seed: number): NDArray => ({ shape, dtype: 'float32', data: randomData(shape.reduce((a, c) => a * c, 1), 90 + seed) });

describe('specializeBatch', () => {
  it('bakes the batch into every type; reshape -1 still resolves (CNN flatten)', () => {
    const p = compileChecked(programOf(cnn()), [specializeBatch]);
    for (const n of p.graph.nodes) for (const t of n.outputs) expect(t.shape, n.name).not.toContain(null);
    expect(nodesOf(p, 'reshape')[0].outputs[0].shape).toEqual([2, 36]);
    expect(nodesOf(p, 'input').find((n) => n.attrs.name !== LEARNING_PHASE)!.attrs.shape).toEqual([2, 8, 8, 3]);
  });
});

describe('foldLearningPhase and constantFold', () => {
  it('the learning phase becomes a constant; inference drops dropout', () => {
    const p = compileChecked(programOf(mlp()), front);
    expect(nodesOf(p, 'input').map((n) => n.attrs.name)).not.toContain(LEARNING_PHASE);
    expect(nodesOf(p, 'dropout')).toHaveLength(0);
  });

  it('training keeps dropout, batchNorm and the updates, with a true learning phase', () => {
    const ctx = { phase: 'training', batch: 2 } as const;
    const p = compileChecked(programOf(resnetBlock()), front, ctx);
    expect(nodesOf(p, 'batchNorm')).toHaveLength(2);
    expect(p.graph.updates).toHaveLength(4);
    expect(nodesOf(p, 'constant').find((n) => n.outputs[0].dtype === 'bool')!.attrs.value).toEqual([1]);
  });

  it('inference batchNorm becomes scale and shift weights; its moving-stat outputs are the stats; updates go', () => {
    const p = compileChecked(programOf(resnetBlock()), front);
    expect(nodesOf(p, 'batchNorm')).toHaveLength(0);
    expect(p.graph.updates).toHaveLength(0);
    expect([...p.weights.keys()]).toContain('batch_normalization/folded_scale');
    expect([...p.weights.keys()]).toContain('batch_normalization_1/folded_shift');
  });

  it('folds ops on constants, up to the size cap', () => {
    const m = opsModel([[3]], (x) => ops.add(x, ops.mul(ops.add(ops.constant([1, 2, 3], [3]), 1), ops.exp(ops.constant(0.5)))));
    const p = compileChecked(programOf(m), [...front, dce]);
    expect(p.graph.nodes.map((n) => n.op).sort()).toEqual(['add', 'constant', 'input']);
    expect(nodesOf(p, 'constant')[0].attrs.value).toEqual([2, 3, 4].map((v) => v * Math.exp(0.5)));
  });
});

describe('foldBatchNorm', () => {
  it('resnet: conv (no bias) → BN folds into conv + one bias add', () => {
    const p = compileChecked(programOf(resnetBlock()), [...front, foldBatchNorm, dce]);
    expect(nodesOf(p, 'mul')).toHaveLength(0);
    const convs = nodesOf(p, 'conv2d');
    expect(convs).toHaveLength(2);
    for (const conv of convs) expect(p.graph.nodes.find((n) => n.id === conv.inputs[1].node)!.attrs.name).toMatch(/folded_kernel$/);
    expect([...p.weights.keys()].filter((k) => /folded_(kernel|bias)$/.test(k))).toHaveLength(4);
    expect([...p.weights.keys()].filter((k) => /folded_(scale|shift)$|moving|gamma|beta/.test(k))).toHaveLength(0);
  });

  it('Dense → BN folds into the dense kernel and bias', () => {
    const p = compileChecked(programOf(denseBn()), [...front, foldBatchNorm, dce]);
    expect(p.graph.nodes.map((n) => n.op)).toEqual(['input', 'weight', 'weight', 'matmul', 'add']);
  });

  it('depthwise conv (multiplier 2) → BN folds per output channel c·m + j', () => {
    const x = Input({ shape: [5, 5, 3] });
    const bn = layers.BatchNormalization();
    const m = new Model({ inputs: x, outputs: bn(layers.DepthwiseConv2D(3, { depthMultiplier: 2, padding: 'same' })(x)) });
    randomizeBatchNorm(bn, 61);
    const p = compileChecked(programOf(m), [...front, foldBatchNorm, dce]);
    expect(p.graph.nodes.filter((n) => n.op !== 'input' && n.op !== 'weight').map((n) => n.op)).toEqual(['depthwiseConv2d', 'add']);
  });

  it('a transposed matmul kernel scales its rows', () => {
    const b = new GraphBuilder();
    const w = (name: string, shape: number[]) => b.add('weight', [], { name, shape, dtype: 'float32' }, name)[0];
    const [x] = b.add('input', [], { name: 'x', shape: [null, 3], dtype: 'float32' }, 'x');
    const [mm] = b.add('matmul', [x, w('k', [4, 3])], { transposeB: true }, 'mm');
    const [y] = b.add('add', [b.add('mul', [w('s', [4]), mm], {}, 'mul')[0], w('t', [4])], {}, 'add');
    const weights = new Map([['k', [4, 3]], ['s', [4]], ['t', [4]]].map(([n, shape], i) => [n as string, nd(shape as number[], i)]));
    const p = compileChecked({ graph: b.build([{ name: 'y', value: y }], []), weights }, [specializeBatch, foldBatchNorm, dce]);
    expect(nodesOf(p, 'mul')).toHaveLength(0);
  });

  it('leaves a kernel that is read elsewhere alone', () => {
    const x = Input({ shape: [5] });
    const dense = layers.Dense(5);
    const m = new Model({ inputs: x, outputs: layers.Add()([layers.BatchNormalization()(dense(x)), dense(x)]) });
    const p = compileChecked(programOf(m), [...front, foldBatchNorm, cse, dce]);
    expect(nodesOf(p, 'mul')).toHaveLength(1);
  });
});

describe('cse and dce', () => {
  it('cse merges identical nodes and removes identity', () => {
    const m = opsModel([[4]], (x) => ops.add(ops.mul(ops.relu(ops.identity(x)), 2), ops.mul(ops.relu(x), 2)));
    const p = compileChecked(programOf(m), [cse, dce]);
    expect(p.graph.nodes.map((n) => n.op)).toEqual(['input', 'relu', 'constant', 'mul', 'add']);
  });

  it('dce keeps unused graph inputs and drops unread weights', () => {
    const x = Input({ shape: [4], name: 'x' });
    const unused = Input({ shape: [3], name: 'unused' });
    const dead = layers.Dense(2);
    dead(x);
    const m = new Model({ inputs: [x, unused], outputs: layers.Dense(2)(x) });
    const program = programOf(m);
    const p = compileChecked({ ...program, weights: new Map([...program.weights, ['stale', program.weights.get('dense_1/bias')!]]) }, [dce]);
    expect(nodesOf(p, 'input').map((n) => n.attrs.name)).toEqual(['x', 'unused']);
    expect([...p.weights.keys()].sort()).toEqual(['dense_1/bias', 'dense_1/kernel']);
  });
});

describe('fuseEpilogues', () => {
  it('the CNN conv + bias + relu is one epilogue; the Dense reads through the pool and the Flatten', () => {
    const p = compileChecked(programOf(cnn()), [...front, cse, dce, fuseEpilogues]);
    expect(fusedOf(p, 'epilogue').map(bodyOps)).toEqual([['conv2d', 'add', 'relu'], ['maxPool2d', 'reshape', 'matmul', 'add', 'softmax']]);
    expect(nodesOf(p, 'maxPool2d')).toHaveLength(0);
    expect(nodesOf(p, 'softmax')).toHaveLength(0);
    // Named after the Dense, whose kernel it is.
    expect(fusedOf(p, 'epilogue')[1].name).toMatch(/^dense/);
  });

  it('a pooling another node also reads stays its own node', () => {
    const [x, y] = [Input({ shape: [6, 6, 2] }), Input({ shape: [3, 3, 2] })];
    const pooled = layers.MaxPooling2D(2)(x);
    const m = new Model({ inputs: [x, y], outputs: [layers.Dense(4)(layers.Flatten()(pooled)), layers.Add()([pooled, y])] });
    const p = compileChecked(programOf(m), [...front, dce, fuseEpilogues]);
    expect(nodesOf(p, 'maxPool2d')).toHaveLength(1);
    expect(fusedOf(p, 'epilogue').map(bodyOps)).toEqual([['matmul', 'add']]);
  });

  it('a pooling read as the B operand is not a prologue', () => {
    const [x, y] = [Input({ shape: [4, 4, 2] }), Input({ shape: [3, 2] })];
    const pooled = layers.Reshape({ targetShape: [2, 4] })(layers.AveragePooling2D(2)(x));
    const m = new Model({ inputs: [x, y], outputs: new Product().apply([y, pooled]) as SymbolicTensor });
    const p = compileChecked(programOf(m), [...front, dce, fuseEpilogues]);
    expect(nodesOf(p, 'avgPool2d')).toHaveLength(1);
    expect(fusedOf(p, 'epilogue')).toHaveLength(0);
  });
});

describe('fuseElementwise', () => {
  it('fuses a chain and a DAG of elementwise ops; a lone op stays plain', () => {
    const m = opsModel([[3, 4], [3, 4]], (x, y) => {
      const chain = ops.tanh(ops.mul(ops.add(ops.mul(x, ops.sigmoid(x)), y), ops.constant([0.5, -1, 2, 3], [4])));
      return [chain, ops.exp(ops.softmax(chain))];
    });
    const p = compileChecked(programOf(m), [...front, dce, fuseElementwise, dce]);
    const groups = fusedOf(p, 'elementwise');
    expect(groups.map(bodyOps)).toEqual([['sigmoid', 'mul', 'add', 'mul', 'tanh']]);
    // x feeds two members but is one param; the [4] constant broadcasts as a param.
    expect(groups[0].inputs).toHaveLength(3);
    expect(nodesOf(p, 'exp')).toHaveLength(1);
  });

  it('does not absorb a value that is also a graph output', () => {
    const m = opsModel([[4]], (x) => {
      const a = ops.exp(x);
      return [a, ops.neg(ops.abs(a))];
    });
    const p = compileChecked(programOf(m), [...front, fuseElementwise, dce]);
    expect(fusedOf(p, 'elementwise').map(bodyOps)).toEqual([['abs', 'neg']]);
    expect(nodesOf(p, 'exp')).toHaveLength(1);
  });
});
