/**
 * The gradient table: every registered op, by name, has a rule or is marked 'none' (no input of it
 * can carry a gradient). autodiff (src/passes/autodiff.ts) reads only this table.
 */
import type { GradientRule } from '../../ir/registry.js';
import { GraphError } from '../../ir/errors.js';
import { UNARY_GRADS, unaryRule } from './unary.js';
import { BINARY_GRADS, binaryRule, castGrad, whereGrad } from './binary.js';
import { matmulGrad } from './matmul.js';
import { concatGrad, gatherGrad, padGrad, reshapeGrad, scatterAddGrad, sliceGrad, transposeGrad } from './shape.js';
import { REDUCTION_GRADS, logSoftmaxGrad, softmaxGrad } from './reduce.js';
import { CONV_GRADS } from './conv.js';
import { avgPoolGrad, avgPoolGradGrad, maxPoolGrad, maxPoolGradGrad } from './pool.js';
import { batchNormGrad, batchNormTrainingGrad, batchNormTrainingGradGrad } from './batchnorm.js';
import { dropoutGrad } from './dropout.js';
import { layerNormGrad, layerNormGradGrad } from './layer-norm.js';
import { attentionGrad, attentionGradGrad } from './attention.js';
import { rnnSequenceGrad, rnnSequenceGradGrad } from './recurrent.js';

/** A rule, or 'none': the op's outputs carry no gradient back to its inputs. */
export type GradientEntry = GradientRule | 'none';

const map = <T>(rows: Readonly<Record<string, T>>, fn: (row: T) => GradientRule) =>
  Object.fromEntries(Object.entries(rows).map(([op, row]) => [op, fn(row)]));

/** Fused nodes are made after autodiff; meeting one means the passes ran in the wrong order. */
const fusedGrad: GradientRule = (ctx) => {
  throw new GraphError(`autodiff: node '${ctx.node.name}' is fused; differentiate the graph before fusion passes run`, { node: ctx.node.name, op: 'fused' });
};

/** Every op's gradient rule (docs/training.md). */
export const GRADIENTS: Readonly<Record<string, GradientEntry>> = {
  // Sources: nothing flows back from them. `param` exists only inside fused bodies.
  input: 'none',
  weight: 'none',
  constant: 'none',
  param: 'none',
  ...map(UNARY_GRADS, unaryRule),
  logicalNot: 'none',
  ...map(BINARY_GRADS, binaryRule),
  // Comparisons and logical ops output bool.
  equal: 'none',
  notEqual: 'none',
  less: 'none',
  lessEqual: 'none',
  greater: 'none',
  greaterEqual: 'none',
  logicalAnd: 'none',
  logicalOr: 'none',
  cast: castGrad,
  where: whereGrad,
  matmul: matmulGrad,
  reshape: reshapeGrad,
  transpose: transposeGrad,
  concat: concatGrad,
  slice: sliceGrad,
  pad: padGrad,
  gather: gatherGrad,
  scatterAdd: scatterAddGrad,
  // A count of NaN and ±∞ elements: piecewise constant.
  nonFiniteCount: 'none',
  // Integer in, float out: the output does not depend on any float.
  oneHot: 'none',
  ...REDUCTION_GRADS,
  // Integer out.
  argMax: 'none',
  softmax: softmaxGrad,
  logSoftmax: logSoftmaxGrad,
  ...CONV_GRADS,
  maxPool2d: maxPoolGrad,
  avgPool2d: avgPoolGrad,
  avgPool2dGrad: avgPoolGradGrad,
  maxPool2dGrad: maxPoolGradGrad,
  batchNorm: batchNormGrad,
  batchNormTraining: batchNormTrainingGrad,
  batchNormTrainingGrad: batchNormTrainingGradGrad,
  dropout: dropoutGrad,
  layerNorm: layerNormGrad,
  layerNormGrad: layerNormGradGrad,
  attention: attentionGrad,
  attentionGrad: attentionGradGrad,
  rnnSequence: rnnSequenceGrad,
  rnnSequenceGrad: rnnSequenceGradGrad,
  fused: fusedGrad,
  fusedSegments: fusedGrad,
};
