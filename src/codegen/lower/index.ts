import type { Node } from '../../ir/types.js';
import { lowerNonFinite } from './non-finite.js';
import { KilnError } from '../../ir/errors.js';
import type { Lowering, LowerContext, KernelSpec } from '../kernel.js';
import { BINARY_WGSL, UNARY_WGSL } from '../wgsl-ops.js';
import { bodyOf, producerOf } from '../chain.js';
import { lowerElementwise } from './elementwise.js';
import { lowerMatmul } from './matmul.js';
import { lowerSoftmax } from './softmax.js';
import { lowerDropout } from './dropout.js';
import { lowerConv } from './conv.js';
import { lowerPool } from './pool.js';
import { lowerReduce, REDUCE_OPS } from './reduce.js';
import { lowerConvGrad } from './conv-grad.js';
import { lowerPoolGrad } from './pool-grad.js';
import { lowerScatterAdd } from './scatter.js';
import { lowerConcat, lowerGather, lowerOneHot, lowerPad, lowerSlice, lowerTranspose } from './data-movement.js';
import { lowerRecurrent } from './recurrent.js';
import { lowerRecurrentGrad } from './recurrent-grad.js';
import { lowerLayerNorm, lowerLayerNormGrad } from './layer-norm.js';
import { lowerBatchNormTraining, lowerBatchNormTrainingGrad } from './batch-norm.js';
import { lowerAttention, lowerAttentionGrad } from './attention.js';
import { lowerSegments } from './segments.js';

/** Ops that only rename memory (same bytes, new shape): the memory plan aliases them, no kernel runs. */
export const ALIASING_OPS = new Set(['reshape', 'identity']);

/** Ops that are data, not work. */
export const SOURCE_OPS = new Set(['input', 'weight', 'constant']);

/** The lowering of every op kiln compiles, by op name; fused nodes go by their body's producer. */
export const LOWERINGS: Record<string, Lowering> = {
  ...Object.fromEntries([...Object.keys(UNARY_WGSL), ...Object.keys(BINARY_WGSL), 'cast', 'where'].map((op) => [op, lowerElementwise])),
  matmul: lowerMatmul,
  softmax: lowerSoftmax,
  dropout: lowerDropout,
  logSoftmax: lowerSoftmax,
  conv2d: lowerConv,
  depthwiseConv2d: lowerConv,
  maxPool2d: lowerPool,
  avgPool2d: lowerPool,
  ...Object.fromEntries(REDUCE_OPS.map((op) => [op, lowerReduce])),
  transpose: lowerTranspose,
  concat: lowerConcat,
  slice: lowerSlice,
  pad: lowerPad,
  gather: lowerGather,
  oneHot: lowerOneHot,
  scatterAdd: lowerScatterAdd,
  conv2dBackpropInput: lowerConvGrad,
  conv2dBackpropFilter: lowerConvGrad,
  depthwiseConv2dBackpropInput: lowerConvGrad,
  depthwiseConv2dBackpropFilter: lowerConvGrad,
  maxPool2dGrad: lowerPoolGrad,
  avgPool2dGrad: lowerPoolGrad,
  rnnSequence: lowerRecurrent,
  rnnSequenceGrad: lowerRecurrentGrad,
  layerNorm: lowerLayerNorm,
  layerNormGrad: lowerLayerNormGrad,
  batchNormTraining: lowerBatchNormTraining,
  batchNormTrainingGrad: lowerBatchNormTrainingGrad,
  attention: lowerAttention,
  attentionGrad: lowerAttentionGrad,
  fusedSegments: lowerSegments,
  nonFiniteCount: lowerNonFinite,
};

/** Lowerings of fused bodies by producer op ('' for pure elementwise chains). */
export const FUSED_LOWERINGS: Record<string, Lowering> = {
  '': lowerElementwise,
  matmul: lowerMatmul,
  conv2d: lowerConv,
  depthwiseConv2d: lowerConv,
  conv2dBackpropInput: lowerConvGrad,
  maxPool2dGrad: lowerPoolGrad,
  avgPool2dGrad: lowerPoolGrad,
};

/** A node that kiln cannot compile yet. */
export class UnsupportedOpError extends KilnError {}

/** The kernels for one node. */
export function lowerNode(node: Node, ctx: LowerContext): KernelSpec[] {
  if (SOURCE_OPS.has(node.op) || ALIASING_OPS.has(node.op)) return [];
  let lowering: Lowering | undefined;
  if (node.op === 'fused') {
    const producer = producerOf(bodyOf(node, []))?.op ?? '';
    lowering = FUSED_LOWERINGS[producer];
  } else lowering = LOWERINGS[node.op];
  if (!lowering) {
    throw new UnsupportedOpError(`node '${node.name}': op '${node.op}' has no GPU kernel yet (kernels exist for: ${Object.keys(LOWERINGS).sort().join(', ')})`, { node: node.name, op: node.op });
  }
  return lowering(node, ctx);
}
