/** Graph-to-graph passes and the named pipelines that chain them. */
export type { Pass, PassContext, Program } from './program.js';
export { rewrite, rule, type Rule, type RuleContext } from './rewrite.js';
export { GraphBuilder } from './builder.js';
export { specializeBatch } from './bind-batch.js';
export { foldLearningPhase } from './learning-phase.js';
export { constantFold, MAX_FOLDED_ELEMENTS } from './constant-fold.js';
export { foldBatchNorm } from './fold-batchnorm.js';
export { cse } from './cse.js';
export { dce } from './dce.js';
export { fuseEpilogues, planEpilogues } from './fuse-epilogues.js';
export { fuseElementwise, planElementwise, MAX_ELEMENTWISE_GROUP } from './fuse-elementwise.js';
export { autodiff, gradName, type AutodiffOptions } from './autodiff.js';
export { GRADIENTS, type GradientEntry } from './gradients/index.js';
export { inference, runPipeline, type PipelineOptions } from './pipelines.js';
export { isElementwise, isUnary, isBinary, PRODUCERS } from './util.js';
export { expandBatchNorm } from './expand-batchnorm.js';
export { fuseBatchNormActivation } from './fuse-batchnorm-activation.js';
export { applyOptimizer, optimizerPass, ITERATIONS, LEARNING_RATE, type ApplyOptimizerOptions, type OptimizerSpec } from './optimizer.js';
