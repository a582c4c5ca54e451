import { LEARNING_PHASE } from '../ir/types.js';
import { rewrite, rule } from './rewrite.js';

/**
 * foldLearningPhase: the `keras_learning_phase` input becomes a bool constant, false when compiling
 * for inference and true for training, so constantFold can settle Dropout and BatchNorm.
 */
export const foldLearningPhase = rewrite('foldLearningPhase', [
  rule({ op: 'input', when: (n) => n.attrs.name === LEARNING_PHASE }, (node, ctx) => {
    const shape = node.outputs[0].shape.map((d) => d ?? 1);
    const value = [ctx.phase === 'training' ? 1 : 0];
    return ctx.builder.add('constant', [], { shape, dtype: 'bool', value }, node.name, { device: node.device });
  }),
]);
