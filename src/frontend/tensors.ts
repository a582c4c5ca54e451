import type { DType } from '../ir/types.js';
import { LEARNING_PHASE } from '../ir/types.js';
import { ModelError } from '../ir/errors.js';
import { emitSource, SymbolicTensor } from './symbolic.js';
import { LayerVariable } from './variables.js';

/** Anything an op accepts: a symbolic tensor, a layer's variable, or a number (a scalar constant). */
export type TensorLike = SymbolicTensor | LayerVariable | number;

let constants = 0;

/** A constant tensor in the graph. */
export function constant(value: number | readonly number[], shape: readonly number[] = [], dtype: DType = 'float32'): SymbolicTensor {
  const values = typeof value === 'number' ? [value] : [...value];
  return emitSource('constant', { shape: [...shape], dtype, value: values }, `const_${constants++}`);
}

/** Converts what a user passes to an op into a symbolic tensor; numbers take `like`'s dtype. */
export function toTensor(x: TensorLike, like?: SymbolicTensor): SymbolicTensor {
  if (x instanceof SymbolicTensor) return x;
  if (x instanceof LayerVariable) return x.tensor;
  if (typeof x === 'number') return constant(x, [], like?.dtype === 'int32' ? 'int32' : 'float32');
  throw new ModelError(`expected a symbolic tensor, a layer weight or a number, got ${describe(x)}`);
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (ArrayBuffer.isView(x)) return `${x.constructor.name} (concrete data: feed it as a model input instead)`;
  return typeof x === 'object' ? (x.constructor?.name ?? 'object') : typeof x;
}

let learningPhaseTensor: SymbolicTensor | undefined;

/** The learning-phase input (bool scalar, true while training), shared by every model as `K.learning_phase()`. */
export function learningPhase(): SymbolicTensor {
  learningPhaseTensor ??= emitSource('input', { name: LEARNING_PHASE, shape: [], dtype: 'bool' }, LEARNING_PHASE);
  return learningPhaseTensor;
}

/** The training flag as a tensor: a constant when the caller fixed it, else the learning-phase input. */
export function trainingFlag(training: boolean | undefined): SymbolicTensor {
  return training === undefined ? learningPhase() : constant(training ? 1 : 0, [], 'bool');
}
