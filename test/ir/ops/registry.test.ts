import { describe, expect, it } from 'vitest';
import { getOp, opNames } from '../../../src/ir/registry.js';
import type { Attrs, TensorType } from '../../../src/ir/types.js';
import { UNARY, unaryOps } from '../../../src/ir/ops/unary.js';
import { BINARY, binaryOps } from '../../../src/ir/ops/binary.js';
import { REDUCE, reduceOps } from '../../../src/ir/ops/reduce.js';
import { sourceOps } from '../../../src/ir/ops/sources.js';
import { selectOps } from '../../../src/ir/ops/select.js';
import { matmulOps } from '../../../src/ir/ops/matmul.js';
import { shapeOps } from '../../../src/ir/ops/shape.js';
import { convOps } from '../../../src/ir/ops/conv.js';
import { poolOps } from '../../../src/ir/ops/pool.js';
import { batchNormOps } from '../../../src/ir/ops/batchnorm.js';
import { dropoutOps } from '../../../src/ir/ops/dropout.js';
import { tt } from './helpers.js';

/** Every primitive op docs/ops.md lists (fused groups, `fused` and `param`, are registered by the passes' work). */
const CATALOG = [
  'input', 'weight', 'constant',
  ...'identity neg abs sign exp log sqrt rsqrt square reciprocal floor ceil round sin cos tanh sigmoid relu relu6 elu selu gelu geluTanh softplus softsign hardSigmoid swish erf leakyRelu logicalNot'.split(' '),
  ...'add sub mul div pow maximum minimum squaredDifference equal notEqual less lessEqual greater greaterEqual logicalAnd logicalOr reluGrad'.split(' '),
  'cast', 'where', 'matmul', 'reshape', 'transpose', 'concat', 'slice', 'pad', 'gather', 'oneHot',
  'reduceSum', 'reduceMean', 'reduceMax', 'reduceMin', 'reduceProd', 'argMax', 'softmax', 'logSoftmax',
  'conv2d', 'depthwiseConv2d', 'maxPool2d', 'avgPool2d', 'batchNorm', 'batchNormTraining', 'batchNormTrainingGrad', 'dropout',
];

const ALL_ROWS = [sourceOps, unaryOps, binaryOps, selectOps, matmulOps, shapeOps, reduceOps, convOps, poolOps, batchNormOps, dropoutOps].flat();

const B = null; // the unknown batch
const bool = tt([], 'bool');
const vec = tt([8]);

/** One example per op: inputs with an unknown batch (sources declare one), attrs, and the expected output shapes. */
const NULL_BATCH: Record<string, [TensorType[], Attrs, (number | null)[][]]> = {
  input: [[], { name: 'x', shape: [B, 8], dtype: 'float32' }, [[B, 8]]],
  cast: [[tt([B, 8])], { dtype: 'int32' }, [[B, 8]]],
  where: [[tt([B, 8], 'bool'), tt([B, 8]), tt([8])], {}, [[B, 8]]],
  matmul: [[tt([B, 5, 8]), tt([8, 3])], {}, [[B, 5, 3]]],
  reshape: [[tt([B, 2, 4])], { shape: [-1, 8] }, [[B, 8]]],
  transpose: [[tt([B, 2, 4])], { perm: [0, 2, 1] }, [[B, 4, 2]]],
  concat: [[tt([B, 2]), tt([B, 6])], { axis: -1 }, [[B, 8]]],
  slice: [[tt([B, 8])], { begin: [0, 2], size: [-1, 4] }, [[B, 4]]],
  pad: [[tt([B, 8])], { paddings: [0, 0, 1, 1] }, [[B, 10]]],
  gather: [[tt([100, 8]), tt([B, 5], 'int32')], {}, [[B, 5, 8]]],
  oneHot: [[tt([B], 'int32')], { depth: 10 }, [[B, 10]]],
  argMax: [[tt([B, 8])], { axis: 1 }, [[B]]],
  softmax: [[tt([B, 8])], {}, [[B, 8]]],
  logSoftmax: [[tt([B, 8])], {}, [[B, 8]]],
  conv2d: [[tt([B, 8, 8, 3]), tt([3, 3, 3, 4])], { padding: 'same' }, [[B, 8, 8, 4]]],
  depthwiseConv2d: [[tt([B, 8, 8, 3]), tt([3, 3, 3, 2])], {}, [[B, 6, 6, 6]]],
  maxPool2d: [[tt([B, 8, 8, 3])], { poolSize: [2, 2], strides: [2, 2] }, [[B, 4, 4, 3]]],
  avgPool2d: [[tt([B, 8, 8, 3])], { poolSize: [3, 3], strides: [2, 2], padding: 'same' }, [[B, 4, 4, 3]]],
  batchNorm: [[tt([B, 4, 8]), vec, vec, vec, vec, bool], {}, [[B, 4, 8], [8], [8]]],
  batchNormTraining: [[tt([B, 4, 8]), vec, vec], {}, [[B, 4, 8], [8], [8]]],
  batchNormTrainingGrad: [[tt([B, 4, 8]), vec, vec, vec, tt([B, 4, 8])], {}, [[B, 4, 8], [8], [8]]],
  dropout: [[tt([B, 8]), bool], { rate: 0.5 }, [[B, 8]]],
};
for (const [name, row] of Object.entries(UNARY)) NULL_BATCH[name] = [[tt([B, 8], row.dtype === 'bool' ? 'bool' : 'float32')], {}, [[B, 8]]];
for (const [name, row] of Object.entries(BINARY)) NULL_BATCH[name] = [[tt([B, 8], row.dtype === 'bool' ? 'bool' : 'float32'), tt([8], row.dtype === 'bool' ? 'bool' : 'float32')], {}, [[B, 8]]];
for (const name of Object.keys(REDUCE)) NULL_BATCH[name] = [[tt([B, 4, 8])], { axes: [-1] }, [[B, 4]]];

describe('the op registry', () => {
  it('holds every op of docs/ops.md, and src/ir/ops registers nothing else', () => {
    expect(opNames()).toEqual(expect.arrayContaining(CATALOG));
    expect(ALL_ROWS.map((d) => d.name).sort()).toEqual([...CATALOG].sort());
  });

  it('every op but the constant-shaped sources carries an unknown batch through infer', () => {
    const covered = Object.keys(NULL_BATCH).sort();
    expect(covered).toEqual(CATALOG.filter((n) => n !== 'weight' && n !== 'constant').sort());
    for (const [name, [inputs, attrs, shapes]] of Object.entries(NULL_BATCH)) {
      expect(getOp(name).infer(inputs, attrs).map((t) => t.shape), name).toEqual(shapes);
    }
  });

  it('every op checks its arity', () => {
    for (const name of CATALOG) {
      const { arity } = getOp(name);
      const n = typeof arity === 'number' ? arity + 1 : arity[0] - 1;
      if (n < 0) continue;
      expect(() => getOp(name).infer(new Array(n).fill(tt([2])), {}), name).toThrow(new RegExp(`^${name}: expects`));
    }
  });

  it('every attr default is of its declared kind', () => {
    const kinds: Record<string, (v: unknown) => boolean> = {
      int: Number.isInteger, float: (v) => typeof v === 'number', bool: (v) => typeof v === 'boolean', string: (v) => typeof v === 'string',
      ints: (v) => Array.isArray(v) && v.every(Number.isInteger), dtype: (v) => typeof v === 'string', json: () => true,
    };
    for (const name of CATALOG) {
      for (const [key, spec] of Object.entries(getOp(name).attrs)) {
        if (spec.default === undefined) continue;
        expect(kinds[spec.kind]?.(spec.default), `${name}.${key}`).toBe(true);
        if (spec.oneOf) expect(spec.oneOf).toContain(spec.default);
      }
    }
  });
});
