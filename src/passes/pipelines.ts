import { validate } from '../ir/validate.js';
import { KilnError } from '../ir/errors.js';
import type { Pass, PassContext, Program } from './program.js';
import { specializeBatch } from './bind-batch.js';
import { foldLearningPhase } from './learning-phase.js';
import { constantFold } from './constant-fold.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { cse } from './cse.js';
import { dce } from './dce.js';
import { fuseEpilogues } from './fuse-epilogues.js';
import { fuseElementwise } from './fuse-elementwise.js';

/** The inference pipeline: static shapes, fold the learning phase and BatchNorm, clean up, fuse. */
export const inference: readonly Pass[] = [specializeBatch, foldLearningPhase, constantFold, foldBatchNorm, cse, dce, fuseEpilogues, fuseElementwise, dce];

/** Options of runPipeline. */
export interface PipelineOptions {
  /** Run `validate` on the graph after every pass (tests always do; the CLI's `--check`). */
  readonly check?: boolean;
  /** Called with each pass's name and result, e.g. for `kiln compile --dump-after <pass>`. */
  readonly onPass?: (name: string, program: Program) => void;
}

/** Runs passes in order; with `check`, a pass that breaks an invariant is named in the error. */
export function runPipeline(program: Program, passes: readonly Pass[], ctx: PassContext, options: PipelineOptions = {}): Program {
  let current = program;
  for (const pass of passes) {
    current = pass.run(current, ctx);
    if (options.check) {
      try {
        validate(current.graph);
      } catch (e) {
        if (e instanceof KilnError) throw new (e.constructor as typeof KilnError)(`after pass '${pass.name}': ${e.message}`, { ...e.context, pass: pass.name });
        throw e;
      }
    }
    options.onPass?.(pass.name, current);
  }
  return current;
}
