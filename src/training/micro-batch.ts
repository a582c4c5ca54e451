/**
 * Micro-batches (gradient accumulation): a replica whose slice of the batch is larger than the step
 * it can hold runs the gradient phase on consecutive equal sub-slices, and the host sums
 * their gradients before the mean over replicas, so one optimizer update still covers the whole batch.
 * With equal micro-batches the mean of their mean gradients is the whole batch's mean gradient;
 * BatchNorm is the exception: its batch statistics are per micro-batch, as they are per replica under
 * MirroredStrategy, and its moving statistics are averaged over micro-batches as over replicas.
 * This file chooses the micro-batch; src/training/replicas.ts runs it.
 */
import { KilnError, ModelError } from '../ir/errors.js';
import { ValueTooLargeError } from '../codegen/plan.js';

/** Samples per compiled micro-batch of each replica, or 'auto': the largest that fits the device. */
export type MicroBatch = number | 'auto';

/** A training step that does not fit, even at the smallest micro-batch: its arena is over the limit asked for, or one of its values is larger than the device can bind. */
export class ArenaTooLargeError extends KilnError {}

/** A compiled step at one micro-batch size, as far as the choice cares: the bytes of its arena. */
export interface Sized {
  readonly arenaBytes: number;
}

/** What the choice is made for, to name in errors. */
export interface MicroBatchTarget {
  readonly model: string;
  /** The whole batch, over every replica. */
  readonly batch: number;
  readonly replicas: number;
  /** The most bytes one arena may take (a memory budget; Infinity: none, the arena is paged past the device's binding limit). */
  readonly limit: number;
}

/** Margin under the estimate from the last compile: the arena is only roughly linear in the batch. */
const MARGIN = 0.97;

/** The largest divisor of n that is at most k (at least 1). */
export function largestDivisorAtMost(n: number, k: number): number {
  for (let d = Math.min(n, Math.floor(k)); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

/** A compile at one micro-batch: the step if it compiled, how far over its limit it is (the ratio; ≤ 1 fits), and why. */
type Attempt<T> = { compiled?: T; over: number; why: string };

function attempt<T extends Sized>(compileAt: (microBatch: number) => T, microBatch: number, limit: number): Attempt<T> {
  try {
    const compiled = compileAt(microBatch);
    return { compiled, over: compiled.arenaBytes / limit, why: `needs a ${gb(compiled.arenaBytes)} arena (${compiled.arenaBytes} bytes), over the ${limit}-byte arena limit` };
  } catch (e) {
    if (!(e instanceof ValueTooLargeError)) throw e;
    const what = e.context.value ? `value '${e.context.value}'` : 'a value';
    return { over: e.bytes / e.windowBytes, why: `has ${what} of ${e.bytes} bytes, more than the device's largest storage binding (${e.windowBytes} bytes)` };
  }
}

/**
 * The micro-batch for a replica's `slice` of the batch, and the step compiled at it. A given number
 * must divide the slice (else a ModelError) and fit; 'auto' compiles the whole slice first and, while
 * the step does not fit (its arena over `target.limit`, or a value larger than one binding), the
 * largest divisor of the slice that the last compile's bytes per sample say will fit (always smaller
 * than the last), down to 1. Fails with ArenaTooLargeError naming the model, the batch and what is
 * over when nothing fits.
 */
export function chooseMicroBatch<T extends Sized>(slice: number, wanted: MicroBatch, target: MicroBatchTarget, compileAt: (microBatch: number) => T): { microBatch: number; compiled: T } {
  const where = `model '${target.model}', batch ${target.batch} over ${target.replicas} replica${target.replicas > 1 ? 's' : ''} (${slice} samples each)`;
  const context = { model: target.model, batch: target.batch, replicas: target.replicas, limit: target.limit };
  if (wanted !== 'auto') {
    if (!Number.isInteger(wanted) || wanted < 1 || slice % wanted !== 0) {
      throw new ModelError(`${where}: microBatch ${wanted} must be a whole number of samples that divides ${slice}, so every micro-batch weighs the same`, { ...context, microBatch: wanted });
    }
    const tried = attempt(compileAt, wanted, target.limit);
    if (!tried.compiled || tried.over > 1) throw new ArenaTooLargeError(`${where}: a micro-batch of ${wanted} ${tried.why}; use a smaller microBatch, or 'auto'`, { ...context, microBatch: wanted });
    return { microBatch: wanted, compiled: tried.compiled };
  }
  let microBatch = slice;
  let tried = attempt(compileAt, microBatch, target.limit);
  while (!tried.compiled || tried.over > 1) {
    if (microBatch === 1) throw new ArenaTooLargeError(`${where}: even a micro-batch of 1 sample ${tried.why}`, { ...context, microBatch: 1 });
    const estimate = (microBatch * MARGIN) / tried.over;
    microBatch = largestDivisorAtMost(slice, Math.min(estimate, microBatch - 1));
    tried = attempt(compileAt, microBatch, target.limit);
  }
  return { microBatch, compiled: tried.compiled };
}
