import type { ValueRef } from '../ir/types.js';
import { ndarray } from '../ir/ndarray.js';
import { GraphBuilder } from '../passes/builder.js';
import type { Program } from '../passes/program.js';

/** State the training step keeps so the host need not read anything back per step. */
export const STEPS = '__steps';
export const NAN_STEP = '__nan_step';
export const sumOf = (name: string) => `__sum/${name}`;

/**
 * Turns the step's outputs (loss, metrics) into running sums kept on the GPU: `__sum/<name>` += value,
 * `__steps` += 1, and `__nan_step` remembers the first step whose loss was NaN or infinite (−1 while
 * none). The outputs are dropped, so a step reads nothing back; the loop reads the sums when it
 * needs logs. With `keepLoss`, the loss stays an output, read back by the step's own submit.
 */
export function accumulateOutputs(program: Program, options: { keepLoss?: boolean } = {}): Program {
  const { graph } = program;
  const b = new GraphBuilder();
  for (const n of graph.nodes) b.copy(n, n.inputs);
  const weights = new Map(program.weights);
  const scalar = (name: string, init: number): ValueRef => {
    weights.set(name, ndarray([], 'float32', [init]));
    return b.add('weight', [], { name, shape: [], dtype: 'float32', trainable: false }, name)[0];
  };
  const constant = (v: number) => b.add('constant', [], { shape: [], dtype: 'float32', value: [v] }, `const_${v}`)[0];
  const asScalar = (r: ValueRef) => (b.type(r).shape.length ? b.add('reshape', [r], { shape: [] }, 'scalar')[0] : r);
  const updates = [...graph.updates];
  const steps = scalar(STEPS, 0);
  for (const o of graph.outputs) {
    const sum = scalar(sumOf(o.name), 0);
    updates.push({ weight: sumOf(o.name), value: b.add('add', [sum, asScalar(o.value)], {}, `${sumOf(o.name)}/add`)[0] });
  }
  const loss = graph.outputs.find((o) => o.name === 'loss');
  if (loss) {
    const nanStep = scalar(NAN_STEP, -1);
    const l = asScalar(loss.value);
    // |loss| < ∞ is false for NaN and for ±∞.
    const finite = b.add('less', [b.add('abs', [l], {}, 'abs_loss')[0], constant(3.4e38)], {}, 'loss_finite')[0];
    const first = b.add('less', [nanStep, constant(0)], {}, 'no_nan_yet')[0];
    const hit = b.add('logicalAnd', [first, b.add('logicalNot', [finite], {}, 'loss_bad')[0]], {}, 'first_nan')[0];
    updates.push({ weight: NAN_STEP, value: b.add('where', [hit, steps, nanStep], {}, 'nan_step')[0] });
  }
  updates.push({ weight: STEPS, value: b.add('add', [steps, constant(1)], {}, 'steps/add')[0] });
  const kept = options.keepLoss && loss ? [{ name: 'loss', value: asScalar(loss.value) }] : [];
  return { graph: b.build(kept, updates), weights };
}
