/** Typed errors of the model-file loaders and savers: each names the file, layer or option at fault. */
import { KilnError, ModelError } from '../../ir/errors.js';

/** A model or weights file that cannot be read or written (missing, truncated, corrupt, wrong format). */
export class ModelFileError extends KilnError {}

/** A layer config kiln cannot build: an unknown class, or an option kiln does not support. */
export class LayerConfigError extends ModelError {}

/** Throws a ModelFileError whose message starts with the file name. */
export function fileError(file: string, what: string, context: Record<string, unknown> = {}): never {
  throw new ModelFileError(`${file}: ${what}`, { file, ...context });
}
